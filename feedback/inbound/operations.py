"""One pipeline for every way in (a mail server's pipe, IMAP, Mailgun): store the raw message once, then process it.

Storing commits by itself, because the sender's retry depends on it: a message is acknowledged (exit 0, the IMAP
flag, Mailgun's 200) only once its row holds. Processing is an operation like any other: it flushes, and the
command or job that runs it commits, message by message. A message that fails to process stays, with its error.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from feedback import audit
from feedback.db import utcnow
from feedback.extensions import db
from feedback.inbound.addresses import cancellation_for_key, reply_deadline, reply_keys
from feedback.inbound.bounces import record_bounce
from feedback.inbound.models import CustomerReply, InboundMessage, WebhookToken
from feedback.inbound.parsing import MessageUnreadable, ParsedMessage, message_key, no_nul, parse
from feedback.inbound.verdict import judge
from feedback.mail.models import OutboxMessage
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import announce
from feedback.postmortem.workflow import record_step
from feedback.urls import external_url

VIAS = ("pipe", "imap", "mailgun")
#: Mailgun tokens are refused again for this long; its signatures are only good for two minutes anyway.
TOKENS_KEPT_FOR = timedelta(days=1)


def store_message(
    raw: bytes,
    via: str,
    envelope_recipient: str = "",
    size: int | None = None,
    mailgun_auth: dict[str, str] | None = None,
) -> tuple[InboundMessage, bool]:
    """Stores the message unless one with its Message-ID is already here; returns (row, whether this call stored it).

    Commits: call it first, in a transaction of its own. Past INBOUND_MAX_BYTES it is cut, and says so; `size` is
    its real size when the caller already read only the start of it; `mailgun_auth` is what Mailgun's route said
    of SPF and DKIM, for the verdict.
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
        envelope_recipient=no_nul(envelope_recipient).strip()[:254],
        raw=raw[:limit],
        size=size,
        truncated=size > limit,
        received_at=utcnow(),
        attachments=[],
        mailgun_auth=mailgun_auth,
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
        detail = failure_detail(error)
        db.session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == message_id, InboundMessage.status == "received")
            .values(status="failed", processed_at=now or utcnow(), note=no_nul(f"Processing failed: {detail}")[:2000])
        )
        db.session.commit()
        # Not logger.exception: the error's words may quote the message (a database's DETAIL line, a parser's).
        where = "".join(traceback.format_tb(error.__traceback__))
        current_app.logger.error("inbound message %s failed to process: %s\n%s", message_id, detail, where)
        return "failed"


def failure_detail(error: BaseException) -> str:
    """What failed, in words that never quote the message: the error's kind, and for a database error the
    driver's kind and SQLSTATE, not its text (which repeats the values it refused)."""
    if isinstance(error, DBAPIError):
        orig = error.orig
        code = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(orig, "sqlstate", None)
        return f"{type(error).__name__} ({type(orig).__name__}{f', SQLSTATE {code}' if code else ''})"
    return type(error).__name__


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
    try:
        parsed = parse(message.raw)
    except MessageUnreadable as unreadable:
        message.status, message.note = "unreadable", str(unreadable)
        db.session.flush()
        return message.status
    if parsed.report is None and _answers_an_erased_postmortem(parsed, message.envelope_recipient, now):
        # Her old keys must not bring her back: the message is counted ("dropped"), and not kept.
        db.session.delete(message)
        db.session.flush()
        return "dropped"
    message.from_address = parsed.from_address
    message.subject = parsed.subject
    message.text = parsed.text
    message.attachments = parsed.attachments
    if parsed.report is None:
        verdict = judge(
            parsed.from_address,
            parsed.authentication_results,
            parsed.dkim_signatures,
            current_app.config["INBOUND_AUTHSERV_ID"],
            message.mailgun_auth if message.via == "mailgun" else None,
        )
        message.verdict = verdict.as_json()
    if parsed.report is not None:
        message.status = "bounce"
        addresses = [message.envelope_recipient, *parsed.recipients]
        message.note = record_bounce(message, parsed.report, addresses, now)
    elif parsed.auto_reply:
        message.status = "auto_reply"
        found = match(parsed, message.envelope_recipient, now)
        message.cancellation_id, message.outbox_message_id = found.cancellation_id, found.outbox_message_id
        message.note = f"Ignored: written by a machine ({parsed.auto_reply})."
    else:
        _reply(message, parsed, now)
    db.session.flush()
    return message.status


def _answers_an_erased_postmortem(parsed: ParsedMessage, envelope_recipient: str, now: datetime) -> bool:
    cancellation_id = match(parsed, envelope_recipient, now).cancellation_id
    cancellation = db.session.get(Cancellation, cancellation_id) if cancellation_id else None
    return cancellation is not None and cancellation.erased_at is not None


def _reply(message: InboundMessage, parsed: ParsedMessage, now: datetime) -> None:
    found = match(parsed, message.envelope_recipient, now)
    message.cancellation_id, message.outbox_message_id = found.cancellation_id, found.outbox_message_id
    cancellation = db.session.get(Cancellation, found.cancellation_id) if found.cancellation_id else None
    how = found.how
    if cancellation is None or found.expired_on is not None:
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
    if (message.verdict or {}).get("outcome") == "fail":
        message.status = "held"
        message.note = (
            f"Held for the owner's review: {message.verdict['detail']} Anyone can write the customer's address in "
            "From:; the receiving server could not confirm this one."
        )
        return
    attach_reply(message, cancellation, how=how)


@dataclass(frozen=True)
class Match:
    """What a message was matched to, and how (or why nothing)."""

    cancellation_id: int | None
    outbox_message_id: int | None
    how: str
    #: The day its reply address (or the email it answers) stopped counting, when that has passed: then the
    #: postmortem is only the probable one, for an admin to attach it to by hand.
    expired_on: date | None = None


def match(parsed: ParsedMessage, envelope_recipient: str = "", now: datetime | None = None) -> Match:
    """The key in the reply address first, else In-Reply-To/References against the Message-IDs of what Farewell
    sent; either counts until its reply window ends (`reply_deadline`)."""
    today = (now or utcnow()).date()
    keys = reply_keys([envelope_recipient, *parsed.recipients] if envelope_recipient else parsed.recipients)
    for key in keys:
        genuine = cancellation_for_key(key)
        if genuine is None or db.session.get(Cancellation, genuine[0]) is None:
            continue
        cancellation_id, last_day = genuine
        last_day = last_day or _legacy_key_deadline(cancellation_id)
        if today > last_day:
            return Match(cancellation_id, None, _expired("reply address", last_day), last_day)
        return Match(cancellation_id, None, "Matched by its reply address.")
    if parsed.answers:
        ours = db.session.execute(
            select(
                OutboxMessage.id, OutboxMessage.cancellation_id, OutboxMessage.message_id, OutboxMessage.created_at
            ).where(OutboxMessage.message_id.in_([f"<{answer}>" for answer in parsed.answers]))
        ).all()
        by_id = {row.message_id.strip("<>"): row for row in ours}
        for answer in parsed.answers:
            row = by_id.get(answer)
            if row is not None and row.cancellation_id is not None:
                last_day = reply_deadline(row.created_at)
                if today > last_day:
                    return Match(row.cancellation_id, row.id, _expired("email it answers", last_day), last_day)
                return Match(row.cancellation_id, row.id, "Matched by the email it answers (In-Reply-To/References).")
    if keys:
        return Match(
            None, None, "The key in its reply address is not genuine (forged, mangled, or made for another use)."
        )
    return Match(None, None, "No reply key in its address, and it answers none of our emails.")


def _expired(what: str, last_day: date) -> str:
    return (
        f"The {what} stopped counting after {last_day.isoformat()} (the survey link's lifetime plus "
        f"{current_app.config['REPLY_KEY_GRACE_DAYS']} days' grace): attach it by hand if it is the customer's."
    )


def _legacy_key_deadline(cancellation_id: int) -> date:
    """A key sent before keys carried their last day works as long after the postmortem's last email."""
    last_email = db.session.scalar(
        select(func.max(OutboxMessage.created_at)).where(OutboxMessage.cancellation_id == cancellation_id)
    )
    cancellation = db.session.get(Cancellation, cancellation_id)
    assert cancellation is not None
    return reply_deadline(last_email or cancellation.cancelled_at)


def attach_reply(
    message: InboundMessage, cancellation: Cancellation, how: str = "", attached_by_id: int | None = None
) -> CustomerReply:
    """Adds the reply to the postmortem, forwards it to the owner (at most INBOUND_FORWARDS_PER_DAY a day), and lets
    it count as the customer's answer."""
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
    most = current_app.config["INBOUND_FORWARDS_PER_DAY"]
    if _forwarded_today(cancellation) >= most:
        message.note += f" Not forwarded to the owner: {most} replies to this postmortem were, in the last 24 hours."
    else:
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
    announce(
        "customer.replied",
        cancellation,
        answers={"subject": reply.subject, "text": reply.text},
        reply_id=reply.id,
        received_at=reply.received_at.isoformat() if reply.received_at else None,
    )
    return reply


def _forwarded_today(cancellation: Cancellation) -> int:
    """Replies forwarded to this postmortem's owner in the last 24 hours (their outbox rows)."""
    counted = select(func.count()).select_from(OutboxMessage)
    return (
        db.session.scalar(
            counted.where(
                OutboxMessage.cancellation_id == cancellation.id,
                OutboxMessage.kind == "customer_reply",
                OutboxMessage.created_at >= utcnow() - timedelta(days=1),
            )
        )
        or 0
    )


class NotAttachable(ValueError):
    """The message is already attached or discarded, or is a bounce or an auto-reply."""


def attach_by_hand(message: InboundMessage, cancellation: Cancellation, admin_id: int) -> CustomerReply:
    if message.status not in ("unmatched", "failed", "auto_reply", "held"):
        raise NotAttachable(f"This message is {message.status_label.lower()}; it can't be attached.")
    reply = attach_reply(message, cancellation, attached_by_id=admin_id)
    audit.record("inbound.attach", message, f"Attached by hand to cancellation {cancellation.id}.")
    return reply


def discard(message: InboundMessage) -> None:
    if message.status not in ("unmatched", "failed", "unreadable", "auto_reply", "held"):
        raise NotAttachable(f"This message is {message.status_label.lower()}; it can't be discarded.")
    was = message.status
    message.status = "discarded"
    db.session.flush()
    audit.record("inbound.discard", message, f"Discarded (it was {was.replace('_', ' ')}).")


def held_for(cancellation: Cancellation) -> list[InboundMessage]:
    """The replies held for this postmortem's owner to review, oldest first."""
    query = select(InboundMessage).where(
        InboundMessage.cancellation_id == cancellation.id, InboundMessage.status == "held"
    )
    return list(db.session.scalars(query.order_by(InboundMessage.received_at, InboundMessage.id)))


def review_held(message: InboundMessage, cancellation: Cancellation, reviewer_id: int, keep: bool) -> None:
    """The owner's review of a held reply: attached as the customer's (and forwarded), or discarded. Flushes."""
    if message.status != "held" or message.cancellation_id != cancellation.id:
        raise NotAttachable("This reply is no longer held for review.")
    if keep:
        attach_reply(message, cancellation, how="Attached by the owner after review.", attached_by_id=reviewer_id)
        audit.record("inbound.attach", message, f"Attached after review to cancellation {cancellation.id}.")
    else:
        message.status = "discarded"
        db.session.flush()
        audit.record("inbound.discard", message, "Discarded after review (it was held).")


def retry(message: InboundMessage) -> None:
    """A failed or unreadable message goes back to be processed again (after a fix)."""
    if message.status not in ("failed", "unreadable"):
        raise NotAttachable("Only a message that failed to process or could not be read can be tried again.")
    message.status = "received"
    message.processed_at = None
    db.session.flush()
