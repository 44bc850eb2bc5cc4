"""A delivery status notification for one of our messages: a permanent failure marks it bounced and the address
suppressed, and tells the postmortem that the customer can't be reached; a temporary one is only recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.inbound.addresses import bounced_message_ids
from feedback.inbound.dsn import DeliveryReport
from feedback.inbound.models import InboundMessage
from feedback.mail.headers import shortened
from feedback.mail.models import OutboxMessage
from feedback.mail.suppression import suppress
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.timeline import email_label
from feedback.postmortem.workflow import record_step
from feedback.urls import external_url

#: The customer's emails whose hard bounce the owner hears of: the survey never reached them.
SURVEY_KINDS = ("survey_invitation", "survey_reminder")


def bounced_message(report: DeliveryReport, addresses: list[str]) -> OutboxMessage | None:
    """Ours by the Message-ID the report returned, else by the VERP key of `bounces+<key>@…` it was sent to."""
    if report.original_message_id:
        found = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.message_id == f"<{report.original_message_id}>")
        )
        if found is not None:
            return found
    for outbox_message_id in bounced_message_ids(addresses):
        found = db.session.get(OutboxMessage, outbox_message_id)
        if found is not None:
            return found
    return None


def record_bounce(message: InboundMessage, report: DeliveryReport, addresses: list[str], now: datetime) -> str:
    """Acts on the report and returns what the inbound record says about it. Flushes."""
    ours = bounced_message(report, addresses)
    if ours is None:
        return "A delivery report for a message that is not ours, or that does not say which message it was."
    message.outbox_message_id = ours.id
    message.cancellation_id = ours.cancellation_id
    failures = report.permanent
    if failures:
        reason = failures[0].describe()
    else:
        delayed = "; ".join(r.describe() for r in report.recipients) or "no details"
        message.soft_bounce = True
        limit = current_app.config["SOFT_BOUNCE_LIMIT"]
        if not limit or soft_bounces(ours.recipient, now) < limit:
            return (
                f"Temporary delivery problem for {ours.recipient} ({delayed}): only recorded, the mail server retries."
            )
        days = current_app.config["SOFT_BOUNCE_DAYS"]
        reason = f"{limit} temporary failures in {days} days, the last {delayed}"
    if ours.bounced_at is not None:
        return f"{ours.recipient} bounced ({reason}); already recorded."
    ours.bounced_at = now
    ours.bounce_detail = reason[:1000]
    suppress(ours.recipient, "bounce", reason="bounced", cancellation_id=ours.cancellation_id)
    if ours.cancellation_id is not None:
        what = email_label(ours.kind)
        never = " the survey never reached them." if ours.unsubscribe_url else ""
        cancellation = record_step(
            ours.cancellation_id,
            "bounced",
            f"{what} to {ours.recipient} bounced ({reason}):{never or ' it never arrived.'}",
            at=now,
        )
        if ours.kind in SURVEY_KINDS:
            tell_the_owner(cancellation, ours, reason)
    return f"{ours.recipient} bounced for good ({reason}): suppressed."


def soft_bounces(recipient: str, now: datetime) -> int:
    """Temporary failures reported for `recipient` within SOFT_BOUNCE_DAYS, the one being recorded included."""
    db.session.flush()
    since = now - timedelta(days=current_app.config["SOFT_BOUNCE_DAYS"])
    return (
        db.session.scalar(
            select(func.count(InboundMessage.id))
            .join(OutboxMessage, OutboxMessage.id == InboundMessage.outbox_message_id)
            .where(
                InboundMessage.soft_bounce,
                InboundMessage.received_at >= since,
                func.lower(OutboxMessage.recipient) == recipient.lower(),
            )
        )
        or 0
    )


def tell_the_owner(cancellation: Cancellation, bounced: OutboxMessage, reason: str) -> None:
    """Once per bounced address: the owner can correct it and invite again from the postmortem (or learns that
    the corrected address bounced too)."""
    told = db.session.scalar(  # the invitation and the reminder to one address: one email between them
        select(OutboxMessage.id).where(
            OutboxMessage.cancellation_id == cancellation.id,
            OutboxMessage.kind.in_(SURVEY_KINDS),
            OutboxMessage.bounced_at.is_not(None),
            OutboxMessage.id != bounced.id,
            func.lower(OutboxMessage.recipient) == bounced.recipient.lower(),
        )
    )
    if told is not None:
        return
    again = bounced_addresses(cancellation.id) - {bounced.recipient.lower()}
    email_about(
        cancellation,
        "invitation_bounced",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"{shortened(cancellation.customer_name)}'s address {bounced.recipient} bounced"
        + (" too" if again else ""),
        template="invitation_bounced",
        address=bounced.recipient,
        reason=reason,
        again=sorted(again),
        cancellation_url=external_url("cancellations.detail", cancellation_id=cancellation.id),
    )


def bounced_addresses(cancellation_id: int) -> set[str]:
    """Every customer address of the cancellation whose survey email bounced for good."""
    rows = db.session.scalars(
        select(OutboxMessage.recipient).where(
            OutboxMessage.cancellation_id == cancellation_id,
            OutboxMessage.kind.in_(SURVEY_KINDS),
            OutboxMessage.bounced_at.is_not(None),
        )
    )
    return {address.lower() for address in rows}
