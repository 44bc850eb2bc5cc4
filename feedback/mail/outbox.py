"""Queueing mail: features call `enqueue` inside their own transaction and never talk to SMTP."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.headers import NAME_LENGTH, SUBJECT_LENGTH, header_address, header_safe, shortened
from feedback.mail.hooks import customer_footer, customer_reply_address
from feedback.mail.models import OutboxContent, OutboxMessage
from feedback.mail.rendering import mime_bytes, render_email
from feedback.mail.suppression import opted_out, skip_reason, suppression_for, unsubscribe_url


def enqueue(
    kind: str,
    *,
    to: str,
    to_name: str = "",
    subject: str,
    template: str,
    cancellation_id: int | None = None,
    timeline_label: str | None = None,
    reply_to: str | None = None,
    due_at: datetime | None = None,
    to_customer: bool = False,
    **context: Any,
) -> OutboxMessage:
    """Renders the email now and stores it whole; it leaves when the worker finds it due.

    Email `to_customer` carries an unsubscribe link (visible, and in the List-Unsubscribe headers); to an address
    on the suppression list it is stored as skipped, with the reason, and never sent. The rest is `compose`'s.
    Flushes, never commits.
    """
    message = compose(
        kind,
        to=to,
        to_name=to_name,
        subject=subject,
        template=template,
        cancellation_id=cancellation_id,
        timeline_label=timeline_label,
        reply_to=reply_to,
        due_at=due_at,
        to_customer=to_customer,
        **context,
    )
    return store(message)


def store(message: OutboxMessage) -> OutboxMessage:
    """Puts a composed message in the queue: skipped, with the reason, when it is to a customer who opted out."""
    suppression = suppression_for(message.recipient) if message.unsubscribe_url else None
    if suppression is not None:
        message.status = "skipped"
        message.last_error = skip_reason(suppression)
    db.session.add(message)
    db.session.flush()
    return message


def compose(
    kind: str,
    *,
    to: str,
    to_name: str = "",
    subject: str,
    template: str,
    cancellation_id: int | None = None,
    timeline_label: str | None = None,
    reply_to: str | None = None,
    due_at: datetime | None = None,
    to_customer: bool = False,
    **context: Any,
) -> OutboxMessage:
    """The message rendered whole (both bodies and the MIME bytes), not yet in the session: `enqueue` stores it.

    Apart, so that a request can do the same work whether or not it will send anything (a password reset for an
    address without an account composes one and drops it: the time taken says nothing). When replies come back
    to Farewell (a customer reply address is registered), email `to_customer` carries that address as its
    Reply-To instead of `reply_to`, and its templates see `reply_by_email`.

    `cancellation_id` and `timeline_label` are the postmortem's: the database writes "<label> sent to <address>."
    on that cancellation's timeline when the message is marked sent.
    """
    subject = shortened(header_safe(subject), SUBJECT_LENGTH)  # the parts are capped too: this is the last guard
    to = header_address(to)
    context["unsubscribe_url"] = unsubscribe_url(to, cancellation_id) if to_customer else None
    if to_customer:
        context.update(customer_footer(to))
    own_reply_address = customer_reply_address(cancellation_id) if to_customer and cancellation_id else None
    reply_to = own_reply_address or reply_to
    context["reply_by_email"] = own_reply_address is not None
    text, html = render_email(template, subject=subject, **context)
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    message = OutboxMessage(
        kind=kind,
        recipient=to,
        recipient_name=shortened(header_safe(to_name), NAME_LENGTH),
        reply_to=header_address(reply_to) if reply_to else None,
        subject=subject,
        content=OutboxContent(body_text=text, body_html=html),
        message_id=make_msgid(idstring=kind.replace("_", "-"), domain=domain),
        cancellation_id=cancellation_id,
        timeline_label=timeline_label,
        due_at=due_at or utcnow(),
        unsubscribe_url=context["unsubscribe_url"],
        created_at=utcnow(),
    )
    message.content.mime = mime_bytes(message)
    return message


class CannotResend(ValueError):
    """The message is not failed, or its address has opted out since; the message says which."""


def resend(message: OutboxMessage) -> None:
    """A failed message goes back in the queue whole: the same Message-ID, its attempts counted from zero."""
    if message.status != "failed":
        raise CannotResend("Only failed messages can be resent.")
    if message.unsubscribe_url and (suppression := suppression_for(message.recipient)) is not None:
        raise CannotResend(f"Not resent: {opted_out(suppression)}")
    message.status = "queued"
    message.attempts = 0
    message.failed_at = None
    message.due_at = utcnow()
    message.claimed_by = None
    message.lease_expires_at = None
    db.session.flush()


def resend_failed() -> tuple[int, int]:
    """Every failed message back in the queue (after an outage, a fixed setting); returns (resent, not resent).

    Those to an address that opted out since stay failed, as when resent one by one. Flushes, never commits.
    """
    resent = kept = 0
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")).all():
        try:
            resend(message)
        except CannotResend:
            kept += 1
        else:
            resent += 1
    return resent, kept
