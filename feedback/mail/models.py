from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db

if TYPE_CHECKING:
    from feedback.postmortem.models import Cancellation

#: skipped: never sent, on purpose (the address opted out, or a reminder lost its reason to go).
STATUSES = ("queued", "sent", "failed", "skipped")


class OutboxMessage(db.Model):
    """An email, stored whole in the same transaction as what caused it; the worker delivers it later.

    Marking a message sent also writes its cancellation's timeline (and, for the invitation, the 'invited'
    state), in the database itself: a trigger (migrations 0006 and 0008) does it in the UPDATE's own transaction,
    whoever runs the UPDATE. The worker then needs one statement per message sent.
    """

    __tablename__ = "outbox_messages"
    #: Personal data (feedback.db.Model): Who it went to, and what it said about whom.
    personal_data = (
        "recipient",
        "recipient_name",
        "reply_to",
        "subject",
        "last_error",
        "unsubscribe_url",
        "bounce_detail",
    )
    not_personal_data = ("kind", "message_id", "status", "claimed_by", "timeline_label")
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'skipped')", name="status_known"),
        # The status and the timestamps never disagree.
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_iff_sent_at"),
        CheckConstraint("(status = 'failed') = (failed_at IS NOT NULL)", name="failed_iff_failed_at"),
        Index("ix_outbox_messages_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: survey_invitation, review_request, summary…
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    #: Fixed when queued, so that a retry is recognisably the same message.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    cancellation_id: Mapped[int | None] = mapped_column(ForeignKey("cancellations.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Not sent before this time: the survey delay, or the next retry after a failure.
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    #: The worker (host:pid:nonce) that claimed the message for sending; others leave it alone until the lease ends.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    #: When a claim lapses: a worker that died mid-batch gives its messages back by simply not renewing it.
    lease_expires_at: Mapped[datetime | None]
    #: What the cancellation's timeline calls the message when it is sent ("Review request"): the postmortem's
    #: label, carried here so that the database trigger that writes the line needs no copy of its own.
    timeline_label: Mapped[str | None] = mapped_column(String(80))
    #: Set on email to a customer: the signed one-click link for the List-Unsubscribe header.
    unsubscribe_url: Mapped[str | None] = mapped_column(Text)
    #: When a delivery status notification said it never arrived (a permanent failure, 5.x.x); it stays 'sent'.
    bounced_at: Mapped[datetime | None]
    #: The bounce's words: its status code and the remote server's diagnostic.
    bounce_detail: Mapped[str] = mapped_column(Text, default="")

    content: Mapped[OutboxContent] = relationship(back_populates="message", cascade="all, delete-orphan")
    cancellation: Mapped[Cancellation | None] = relationship("Cancellation")


class OutboxContent(db.Model):
    """What an outbox message says, kept apart from its delivery state, which changes several times per message.

    A message's row is rewritten when it is claimed, sent or retried; its 20-odd kilobytes of content never
    change after it was queued. Kept in the same row, they would be copied at every one of those writes (SQLite
    rewrites a whole row to change one column), and the worker does one per message sent.
    """

    __tablename__ = "outbox_contents"
    personal_data = ("body_text", "body_html", "mime")
    not_personal_data = ()

    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), primary_key=True)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    #: The whole MIME message, built when queued; only its Date header changes when it is sent.
    mime: Mapped[bytes | None] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="content")


class Suppression(db.Model):
    """An address that asked not to hear from us: Farewell never emails it again, for any cancellation."""

    __tablename__ = "suppressions"
    #: Personal data (feedback.db.Model): The opted-out address (hashed once its owner is erased).
    personal_data = ("address", "reason")
    not_personal_data = ("source",)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased, so that one opt-out covers every spelling of the address; "sha256:<hex>" of it once its
    #: owner was erased (see `suppression.address_hash`), which the checks before sending also compare.
    address: Mapped[str] = mapped_column(String(254), unique=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: unsubscribe-link, one-click (RFC 8058 POST from the mail client), admin…
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The cancellation whose email carried the opt-out, if any.
    cancellation_id: Mapped[int | None] = mapped_column(ForeignKey("cancellations.id", ondelete="SET NULL"))

    cancellation: Mapped[Cancellation | None] = relationship("Cancellation")
