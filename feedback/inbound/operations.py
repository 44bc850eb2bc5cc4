"""One pipeline for every way in (a mail server's pipe, IMAP, Mailgun): store the raw message once, then process it.

Storing commits by itself, because the sender's retry depends on it: a message is acknowledged (exit 0, the IMAP
flag, Mailgun's 200) only once its row holds. Processing is an operation like any other: it flushes, and the
command or job that runs it commits, message by message. A message that fails to process stays, with its error.
"""

from __future__ import annotations

import traceback
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from feedback.db import utcnow
from feedback.extensions import db
from feedback.inbound.addresses import cancellation_for_key, reply_keys
from feedback.inbound.bounces import record_bounce
from feedback.inbound.models import CustomerReply, InboundMessage, WebhookToken
from feedback.inbound.parsing import ParsedMessage, message_key, parse
from feedback.mail.models import OutboxMessage
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.workflow import record_step
from feedback.urls import external_url

VIAS = ("pipe", "imap", "mailgun")
#: Mailgun tokens are refused again for this long; its signatures are only good for two minutes anyway.
TOKENS_KEPT_FOR = timedelta(days=1)


def store_message(
    raw: bytes, via: str, envelope_recipient: str = "", size: int | None = None
) -> tuple[InboundMessage, bool]:
    """Stores the message unless one with its Message-ID is already here; returns (row, whether this call stored it).

    Commits: call it first, in a transaction of its own. Past INBOUND_MAX_BYTES it is cut, and says so; `size` is
    its real size when the caller already read only the start of it.
    """
    size = max(size or 0, len(raw))
    limit = current_app.config["INBOUND_MAX_BYTES"]
    key = message_key(raw[:limit])
    existing = _stored(key)
    if existing is not None:
        return existing, False
    row = InboundMessage(
        message_id=key,
        via=via,
        envelope_recipient=envelope_recipient.strip()[:254],
        raw=raw[:limit],
        size=size,
        truncated=size > limit,
        received_at=utcnow(),
        attachments=[],
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        # Another poller or a redelivery stored it a moment ago: that copy is the one.
        db.session.rollback()
        found = _stored(key)
        if found is None:
            raise
        return found, False
    return row, True


def _stored(key: str) -> InboundMessage | None:
    return db.session.scalar(select(InboundMessage).where(InboundMessage.message_id == key))


def use_token_once(token: str) -> bool:
    """True the first time a Mailgun token is seen; False for a replay. Flushes."""
    if db.session.get(WebhookToken, token) is not None:
        return False
    db.session.add(WebhookToken(token=token, used_at=utcnow()))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def process_stored(now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Processes what is waiting, one message per transaction; a failure is kept with its error. Commits."""
    now = now or utcnow()
    waiting = db.session.scalars(
        select(InboundMessage.id).where(InboundMessage.status == "received").order_by(InboundMessage.id).limit(limit)
    ).all()
    counts: dict[str, int] = {}
    for message_id in waiting:
        status = process_and_commit(message_id, now)
        if status:
            counts[status] = counts.get(status, 0) + 1
    return counts


def forget_old_tokens(now: datetime) -> int:
    """Mailgun tokens past any signature's tolerance are forgotten a day later. Flushes."""
    return db.session.execute(delete(WebhookToken).where(WebhookToken.used_at < now - TOKENS_KEPT_FOR)).rowcount


def process_and_commit(message_id: int, now: datetime | None = None) -> str:
    """Processes one stored message and commits; on an error rolls back and keeps the message as failed."""
    try:
        status = process_message(message_id, now)
        db.session.commit()
        return status
    except Exception as error:  # noqa: BLE001 - the message is kept for an admin, whatever went wrong
        db.session.rollback()
        detail = "".join(traceback.format_exception_only(error)).strip()
        db.session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == message_id, InboundMessage.status == "received")
            .values(status="failed", processed_at=now or utcnow(), note=f"Processing failed: {detail}"[:2000])
        )
        db.session.commit()
        current_app.logger.exception("inbound message %s failed to process", message_id)
        return "failed"


def process_message(message_id: int, now: datetime | None = None) -> str:
    """Makes what it is of one stored message: a reply, a bounce, an auto-reply, or one for an admin. Flushes.

    Returns its new status, or "" when another process took it first (the claim is a conditional update).
    """
    now = now or utcnow()
    claimed = db.session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id, InboundMessage.status == "received")
        .values(status="unmatched", processed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return ""
    message = db.session.get(InboundMessage, message_id)
    assert message is not None
    db.session.refresh(message)
    parsed = parse(message.raw)
    message.from_address = parsed.from_address
    message.subject = parsed.subject
    message.text = parsed.text
    message.attachments = parsed.attachments
    if parsed.report is not None:
        message.status = "bounce"
        addresses = [message.envelope_recipient, *parsed.recipients]
        message.note = record_bounce(message, parsed.report, addresses, now)
    elif parsed.auto_reply:
        message.status = "auto_reply"
        message.cancellation_id, message.outbox_message_id, _ = match(parsed, message.envelope_recipient)
        message.note = f"Ignored: written by a machine ({parsed.auto_reply})."
    else:
        _reply(message, parsed)
    db.session.flush()
    return message.status


def _reply(message: InboundMessage, parsed: ParsedMessage) -> None:
    cancellation_id, outbox_message_id, how = match(parsed, message.envelope_recipient)
    message.cancellation_id, message.outbox_message_id = cancellation_id, outbox_message_id
    cancellation = db.session.get(Cancellation, cancellation_id) if cancellation_id else None
    if cancellation is None:
        message.note = how
        return
    if parsed.from_address != cancellation.customer_email.strip().lower():
        message.note = (
            f"Sent from {parsed.from_address or 'no address'}, not the customer's {cancellation.customer_email}: "
            "attach it by hand if it is theirs."
        )
        return
    if not parsed.text and not parsed.attachments:
        message.note = "Nothing new in it: only the quoted email."
        return
    attach_reply(message, cancellation, how=how)


def match(parsed: ParsedMessage, envelope_recipient: str = "") -> tuple[int | None, int | None, str]:
    """(cancellation id, our message it answers, how it matched or why not): the key in the reply address first,
    else In-Reply-To/References against the Message-IDs of what Farewell sent."""
    keys = reply_keys([envelope_recipient, *parsed.recipients] if envelope_recipient else parsed.recipients)
    for key in keys:
        cancellation_id = cancellation_for_key(key)
        if cancellation_id is not None and db.session.get(Cancellation, cancellation_id) is not None:
            return cancellation_id, None, "Matched by its reply address."
    if parsed.answers:
        ours = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.cancellation_id, OutboxMessage.message_id).where(
                OutboxMessage.message_id.in_([f"<{answer}>" for answer in parsed.answers])
            )
        ).all()
        by_id = {row.message_id.strip("<>"): row for row in ours}
        for answer in parsed.answers:
            row = by_id.get(answer)
            if row is not None and row.cancellation_id is not None:
                return row.cancellation_id, row.id, "Matched by the email it answers (In-Reply-To/References)."
    if keys:
        return None, None, "The key in its reply address is not genuine (forged, mangled, or made for another use)."
    return None, None, "No reply key in its address, and it answers none of our emails."


def attach_reply(
    message: InboundMessage, cancellation: Cancellation, how: str = "", attached_by_id: int | None = None
) -> CustomerReply:
    """Adds the reply to the postmortem, forwards it to the owner, and lets it count as the customer's answer."""
    reply = CustomerReply(
        cancellation_id=cancellation.id,
        inbound_message_id=message.id,
        from_address=message.from_address,
        subject=message.subject,
        text=message.text,
        attachments=list(message.attachments or []),
        received_at=message.received_at,
        attached_by_id=attached_by_id,
    )
    db.session.add(reply)
    message.status = "reply"
    message.cancellation_id = cancellation.id
    message.note = how or "Attached by an admin."
    db.session.flush()
    email_about(
        cancellation,
        "customer_reply",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"{cancellation.customer_name} replied: {message.subject or '(no subject)'}",
        template="customer_reply",
        reply_to=cancellation.customer_email,
        reply=reply,
        after_summary=cancellation.summary is not None,
        postmortem_url=external_url("cancellations.detail", cancellation_id=cancellation.id),
    )
    if message.from_address == cancellation.customer_email.strip().lower():
        said = f"{cancellation.customer_name} replied by email."
    else:
        said = f"A reply by email from {message.from_address or 'an unknown address'} was attached by an admin."
    record_step(cancellation.id, "replied", said)
    return reply


class NotAttachable(ValueError):
    """The message is already attached or discarded, or is a bounce or an auto-reply."""


def attach_by_hand(message: InboundMessage, cancellation: Cancellation, admin_id: int) -> CustomerReply:
    if message.status not in ("unmatched", "failed", "auto_reply"):
        raise NotAttachable(f"This message is {message.status_label.lower()}; it can't be attached.")
    return attach_reply(message, cancellation, attached_by_id=admin_id)


def discard(message: InboundMessage) -> None:
    if message.status not in ("unmatched", "failed", "auto_reply"):
        raise NotAttachable(f"This message is {message.status_label.lower()}; it can't be discarded.")
    message.status = "discarded"
    db.session.flush()


def retry(message: InboundMessage) -> None:
    """A failed message goes back to be processed again (after a fix)."""
    if message.status != "failed":
        raise NotAttachable("Only a message that failed to process can be tried again.")
    message.status = "received"
    message.processed_at = None
    db.session.flush()
