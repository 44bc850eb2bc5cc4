"""A postmortem's states and steps: what state it is in, what each step writes, when the summary is due.

The state follows from the facts (an invitation sent or answered, a review, a summary); it is stored only so
that lists can filter on it. Every step that could make the summary due goes through `record_step`, which
serialises the two sides of one cancellation so that exactly one of them sees both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.mail.suppression import suppression_for
from feedback.postmortem.models import Cancellation

#: Composes and queues the summary of a cancellation that is ready for one; registered by the summaries feature.
SummaryComposer = Callable[[Cancellation], Any]

_HOOKS = "farewell.postmortem"


def when_summary_due(app: Flask, compose: SummaryComposer) -> None:
    """Called at start-up by the feature that writes summaries: the postmortem decides when, it decides how."""
    app.extensions.setdefault(_HOOKS, {})["compose_summary"] = compose


def current_state(cancellation: Cancellation) -> str:
    invitation = cancellation.invitation
    if cancellation.needs_contact:
        return "needs_contact"
    if cancellation.summary is not None:
        return "summarized"
    if cancellation.review is not None:
        return "reviewed"
    if (invitation is not None and invitation.answered_at is not None) or cancellation.replies:
        return "answered"
    if invitation is not None and invitation.sent_at is not None:
        return "invited"
    return "logged"


def lock_cancellation(cancellation_id: int) -> Cancellation:
    """Serialises the survey and the review of one cancellation, so that exactly one of them sees both."""
    db.session.flush()
    cancellation = db.session.scalars(
        select(Cancellation).where(Cancellation.id == cancellation_id).with_for_update()
    ).one()
    # Whatever was read before the lock may predate the other side's commit: read it again.
    db.session.expire_all()
    return cancellation


def never_asked(cancellation: Cancellation) -> bool:
    """The customer had opted out of our email before the invitation went, so there is no answer to wait for."""
    invitation = cancellation.invitation
    if invitation is None or invitation.sent_at is not None or invitation.answered_at is not None:
        return False
    return suppression_for(cancellation.customer_email) is not None


def bounce(cancellation: Cancellation) -> OutboxMessage | None:
    """The first email to the customer that bounced for good (a 5.x.x report): the survey can't reach them."""
    return db.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.cancellation_id == cancellation.id,
            OutboxMessage.bounced_at.is_not(None),
            OutboxMessage.unsubscribe_url.is_not(None),  # only email to the customer carries one
            # To the address on file: once an owner corrected it, the old address's bounce is history.
            func.lower(OutboxMessage.recipient) == func.lower(cancellation.customer_email),
        )
        .order_by(OutboxMessage.bounced_at)
        .limit(1)
    )


def summary_due(cancellation: Cancellation) -> bool:
    """Both sides are in (the customer's by the survey or by a reply), or the review is in and the customer's link
    lapsed unanswered, was never sent, or bounced."""
    invitation = cancellation.invitation
    if cancellation.review is None or cancellation.summary is not None or cancellation.needs_contact:
        return False
    if cancellation.stayed_at is not None:  # they undid the cancellation: the postmortem ended there
        return False
    if invitation is None or invitation.answered_at is not None or invitation.expired_at is not None:
        return True
    if cancellation.replies:
        return True
    return never_asked(cancellation) or bounce(cancellation) is not None


def record_step(cancellation_id: int, kind: str, detail: str, at: datetime | None = None) -> Cancellation:
    """After one side of the postmortem is written: lock, note it on the timeline, compose the summary if now due.

    Flushes, never commits: the request or command that took the step commits it with everything else it wrote.
    """
    cancellation = lock_cancellation(cancellation_id)
    cancellation.record(kind, detail, at=at)
    if summary_due(cancellation):
        current_app.extensions[_HOOKS]["compose_summary"](cancellation)
    cancellation.state = current_state(cancellation)
    db.session.flush()
    return cancellation
