"""What a postmortem changes: action items, and the reminders and digests that keep them moving.

"Once" is the database's to keep: a reminder is a row under a unique (item, kind, due date) key and a digest a row
under a unique (person, week) key, inserted before the email is queued; a second run finds the row and stops.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation

STATUSES = ("open", "done", "not_doing")
STATUS_LABELS = {"open": "Open", "done": "Done", "not_doing": "Not doing"}
#: How the item came to be: written in the review, added on the postmortem page, by the API, or by migration 0012.
SOURCES = ("review", "page", "api", "migration")


class ActionItem(db.Model):
    """One change the postmortem asked for, with one owner and (usually) a due date."""

    __tablename__ = "action_items"
    #: Personal data (feedback.db.Model): Titles and closing notes are written about the customer and may name them.
    personal_data = ("title", "note")
    not_personal_data = ("status", "ticket_url", "reason", "source")
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'not_doing')", name="status_known"),
        # Closed exactly when it has a closing time: an open item carries no stale closing details.
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_when_not_open"),
        CheckConstraint("ticket_url IS NULL OR ticket_url LIKE 'https://%'", name="ticket_is_https"),
        Index("ix_action_items_status_due_on", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: None for items carried over from a free-text review (migration 0012): nobody had set one.
    due_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: Why it was closed, or anything worth knowing; optional.
    note: Mapped[str] = mapped_column(Text, default="")
    #: The ticket elsewhere (Linear, Jira, GitHub), https:// only.
    ticket_url: Mapped[str | None] = mapped_column(String(500))
    #: The customer's main reason (a choice of the exit survey's first question) this change addresses, or "".
    reason: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16), default="page")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    cancellation: Mapped[Cancellation] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def overdue_on(self, today: date) -> bool:
        return self.is_open and self.due_on is not None and self.due_on < today


class ActionReminder(db.Model):
    """One reminder email about one item: two days before its due date (`due_soon`), or once it is `overdue`."""

    __tablename__ = "action_reminders"
    personal_data = ()
    not_personal_data = ("kind",)
    __table_args__ = (
        UniqueConstraint("action_item_id", "kind", "due_on", name="uq_action_reminders_once"),
        CheckConstraint("kind IN ('due_soon', 'overdue')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    #: The due date it reminded of: moving the date earns the item a reminder for the new one.
    due_on: Mapped[date]
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionDigest(db.Model):
    """The weekly digest sent to one person for the week starting on `week_of` (a Monday)."""

    __tablename__ = "action_digests"
    __table_args__ = (UniqueConstraint("user_id", "week_of", name="uq_action_digests_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week_of: Mapped[date]
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
