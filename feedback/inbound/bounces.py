"""A delivery status notification for one of our messages: a permanent failure marks it bounced and the address
suppressed, and tells the postmortem that the customer can't be reached; a temporary one is only recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from feedback.extensions import db
from feedback.inbound.addresses import bounced_message_ids
from feedback.inbound.dsn import DeliveryReport
from feedback.inbound.models import InboundMessage
from feedback.mail.models import OutboxMessage
from feedback.mail.suppression import suppress
from feedback.postmortem.timeline import email_label
from feedback.postmortem.workflow import record_step


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
    if not failures:
        delayed = "; ".join(r.describe() for r in report.recipients) or "no details"
        return f"Temporary delivery problem for {ours.recipient} ({delayed}): only recorded, the mail server retries."
    failure = failures[0]
    if ours.bounced_at is not None:
        return f"{ours.recipient} bounced ({failure.describe()}); already recorded."
    ours.bounced_at = now
    ours.bounce_detail = failure.describe()[:1000]
    suppress(ours.recipient, "bounce", reason="bounced", cancellation_id=ours.cancellation_id)
    if ours.cancellation_id is not None:
        what = email_label(ours.kind)
        never = " the survey never reached them." if ours.unsubscribe_url else ""
        record_step(
            ours.cancellation_id,
            "bounced",
            f"{what} to {ours.recipient} bounced ({failure.describe()}):{never or ' it never arrived.'}",
            at=now,
        )
    return f"{ours.recipient} bounced for good ({failure.describe()}): suppressed."
