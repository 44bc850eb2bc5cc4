"""What arrived by email: every raw message, once per Message-ID, and the replies attached to a postmortem."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db

if TYPE_CHECKING:
    from feedback.mail.models import OutboxMessage
    from feedback.postmortem.models import Cancellation

#: received: stored, not processed yet; reply: attached to a postmortem; unmatched: waits for an admin;
#: auto_reply: an out-of-office or other machine answer, recorded and ignored; bounce: a delivery status
#: notification; failed: processing raised (the error is kept, the message too); unreadable: shaped so that
#: reading it would take unbounded time or stack (nested a thousand deep), kept raw, unread; held: a reply by the
#: customer's key and address whose receiving server's verdict does not vouch for its From:, waiting for the
#: owner's review on the postmortem; discarded: by an admin or the owner.
STATUSES = ("received", "reply", "unmatched", "auto_reply", "bounce", "failed", "unreadable", "held", "discarded")

STATUS_LABELS = {
    "received": "Waiting to be processed",
    "reply": "Attached",
    "unmatched": "Unmatched",
    "auto_reply": "Auto-reply (ignored)",
    "bounce": "Bounce",
    "failed": "Failed to process",
    "unreadable": "Unreadable",
    "held": "Held for the owner's review",
    "discarded": "Discarded",
}


class InboundMessage(db.Model):
    """A message as it arrived, stored before anything is made of it, so that nothing is lost to a bug."""

    __tablename__ = "inbound_messages"
    #: Personal data (feedback.db.Model): Mail received: the sender's address and words, and notes quoting them.
    personal_data = (
        "envelope_recipient",
        "raw",
        "from_address",
        "subject",
        "text",
        "attachments",
        "note",
        "mailgun_auth",
        "verdict",
    )
    not_personal_data = ("message_id", "via", "status", "soft_bounce")
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'reply', 'unmatched', 'auto_reply', 'bounce', 'failed', 'unreadable', 'held', "
            "'discarded')",
            name="status_known",
        ),
        CheckConstraint("(status = 'received') = (processed_at IS NULL)", name="processed_iff_not_received"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The Message-ID header without its brackets, or `sha256:<hex>` of the message when it has none (or a silly
    #: one): unique, so a redelivery, a second poll or a webhook retry stores nothing twice.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    #: pipe, imap or mailgun.
    via: Mapped[str] = mapped_column(String(16))
    #: The address the mail server delivered it to, when it says (Postfix's ${original_recipient}, Mailgun's).
    envelope_recipient: Mapped[str] = mapped_column(String(254), default="")
    #: The message as it came, cut at INBOUND_MAX_BYTES.
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    #: Its size as it came, before any cut.
    size: Mapped[int]
    truncated: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    processed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    from_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    #: What the sender typed: quoted history and signature removed.
    text: Mapped[str] = mapped_column(Text, default="")
    #: The names of attachments (never stored, never opened).
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Why it has the status it has, in words: what matched, why nothing did, the bounce's status, the error.
    note: Mapped[str] = mapped_column(Text, default="")
    #: The postmortem it belongs to, or (unmatched) the one it probably belongs to.
    cancellation_id: Mapped[int | None] = mapped_column(ForeignKey("cancellations.id", ondelete="SET NULL"), index=True)
    #: What Mailgun's route said of it when it came that way (spf, dkim: its X-Mailgun-Spf and
    #: X-Mailgun-Dkim-Check-Result fields; sender: the envelope sender), kept for processing; None otherwise.
    mailgun_auth: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The receiving server's verdict on its From: (feedback.inbound.verdict.Verdict as JSON), once processed.
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A delivery report of a temporary failure (4.x.x): counted towards SOFT_BOUNCE_LIMIT for its recipient.
    soft_bounce: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Our email it answers or bounced.
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))

    cancellation: Mapped[Cancellation | None] = relationship("Cancellation")
    outbox_message: Mapped[OutboxMessage | None] = relationship("OutboxMessage")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class CustomerReply(db.Model):
    """ "What the customer wrote back": a reply attached to a postmortem, counted as the customer's answer."""

    __tablename__ = "customer_replies"
    personal_data = ("from_address", "subject", "text", "attachments")
    not_personal_data = ()

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), index=True)
    #: Unique: one message is attached once, however often it is processed.
    inbound_message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"), unique=True)
    from_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The admin who attached it by hand from the unmatched list; None when it matched by itself.
    attached_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    cancellation: Mapped[Cancellation] = relationship(back_populates="replies")


class WebhookToken(db.Model):
    """A Mailgun signature's token, used once: a replayed request (same token) is refused."""

    __tablename__ = "inbound_webhook_tokens"
    personal_data = ()
    not_personal_data = ("token",)

    token: Mapped[str] = mapped_column(String(255), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
