"""A customer's help-desk conversations as we keep them, and the queue of fetches that fill them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation, Customer

#: Where a conversation came from: a connector's name, or `api` for one put through the API.
SOURCES = ("zendesk", "freshdesk", "helpscout", "helpspot", "api")
#: The opening message is kept to this many characters (HTML reduced to text first).
OPENING_LIMIT = 2000
#: At most this many conversations per customer, the newest.
MAX_KEPT = 50


class Conversation(db.Model):
    """One help-desk conversation of a customer: the facts the postmortem shows, and nothing else of the ticket."""

    __tablename__ = "helpdesk_conversations"
    #: What the customer wrote, and what it was about, are theirs; the help desk's ids and states are not.
    personal_data = ("subject", "opening_message", "url", "tags")
    not_personal_data = ("source", "external_id", "status", "channel", "satisfaction")
    __table_args__ = (
        UniqueConstraint("customer_id", "source", "external_id", name="uq_helpdesk_conversations_customer_source_id"),
        CheckConstraint("source IN ('zendesk', 'freshdesk', 'helpscout', 'helpspot', 'api')", name="source_known"),
        CheckConstraint("replies IS NULL OR replies >= 0", name="replies_not_negative"),
        CheckConstraint(f"length(opening_message) <= {OPENING_LIMIT}", name="opening_message_cut"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    #: The help desk's own id of the ticket or conversation.
    external_id: Mapped[str] = mapped_column(String(100))
    #: Where staff open it in the help desk (never its API address).
    url: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(40), default="")
    #: How it came in: email, web, chat, phone…
    channel: Mapped[str] = mapped_column(String(40), default="")
    opened_at: Mapped[datetime]
    solved_at: Mapped[datetime | None]
    #: Replies in the conversation, when the help desk says.
    replies: Mapped[int | None]
    #: good, bad, or the help desk's own word; empty when not rated.
    satisfaction: Mapped[str] = mapped_column(String(40), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The customer's first message as text, cut at OPENING_LIMIT characters.
    opening_message: Mapped[str] = mapped_column(Text, default="")
    #: True when the customer opened it (not an agent's outbound message): a candidate for the final straw.
    opened_by_customer: Mapped[bool] = mapped_column(default=True)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()


#: A fetch waits (queued), succeeded (done) or gave up (failed).
FETCH_STATES = ("queued", "done", "failed")


class HelpdeskFetch(db.Model):
    """One reading of a cancelled customer's conversations, run by the `helpdesk.fetch` job with back-off.

    At most one is queued per cancellation (a partial unique index), so a second Refresh moves the queued one up
    instead of doubling the work.
    """

    __tablename__ = "helpdesk_fetches"
    personal_data = ()
    #: Our words about the help desk's answer ("Zendesk answered 401"), never what the customer wrote.
    not_personal_data = ("source", "state", "last_error", "outcome")
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'done', 'failed')", name="state_known"),
        CheckConstraint("(state = 'queued') = (finished_at IS NULL)", name="finished_unless_queued"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index(
            "uq_helpdesk_fetches_one_queued",
            "cancellation_id",
            unique=True,
            sqlite_where=text("state = 'queued'"),
            postgresql_where=text("state = 'queued'"),
        ),
        Index("ix_helpdesk_fetches_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), index=True)
    #: The connector it was queued for (a change of help desk later does not rewrite history).
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: The last failure in plain words, kept while it retries.
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: What the finished fetch did: "7 conversations kept" or why it gave up.
    outcome: Mapped[str] = mapped_column(Text, default="")

    cancellation: Mapped[Cancellation] = relationship()

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "attempts": self.attempts, "outcome": self.outcome or self.last_error}
