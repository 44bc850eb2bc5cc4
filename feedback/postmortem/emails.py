"""Email about a postmortem: queued through the outbox with its timeline label; a skip is noted on the timeline."""

from __future__ import annotations

from typing import Any

from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.mail.outbox import enqueue
from feedback.postmortem.models import Cancellation
from feedback.postmortem.timeline import email_label


def email_about(about: Cancellation, kind: str, **message: Any) -> OutboxMessage:
    """`enqueue` for a cancellation: the message names it, and its templates see it as `cancellation`.

    The outbox only stores and sends; what a skipped message means for the postmortem is said here.
    """
    db.session.flush()  # links in the message name the cancellation's id
    message.setdefault("cancellation", about)
    queued = enqueue(kind, cancellation_id=about.id, timeline_label=email_label(kind), **message)
    if queued.status == "skipped":
        why = queued.last_error.removeprefix("Not sent: ")
        about.record("email_skipped", f"{email_label(kind)} not sent: {why}")
    return queued
