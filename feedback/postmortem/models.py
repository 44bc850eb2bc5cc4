"""A postmortem's records: the customer, the cancellation and its timeline. Its other sides (the survey's invitation,
the review, the summary) live in their features and hang off `Cancellation` by relationship name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db

if TYPE_CHECKING:
    from feedback.auth.models import User
    from feedback.inbound.models import CustomerReply
    from feedback.reviews.models import Review
    from feedback.summaries.models import Summary
    from feedback.surveys.models import Invitation


class Customer(db.Model):
    """A customer as the billing system knows them; cancellations link here for tenure and revenue lost."""

    __tablename__ = "customers"
    #: Personal data (feedback.db.Model): The owner's address is staff's; the plan and locale are facts kept anonymous.
    personal_data = ("external_id", "name", "email", "company")
    not_personal_data = ("plan", "currency", "owner_email", "locale")
    __table_args__ = (CheckConstraint("mrr IS NULL OR mrr >= 0", name="mrr_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The billing system's id (a Stripe `cus_...`); unique when present, so webhooks find the same customer.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    company: Mapped[str] = mapped_column(String(200), default="")
    plan: Mapped[str] = mapped_column(String(120), default="")
    #: Monthly recurring revenue in the account's currency's main unit (49.00, not 4900 cents).
    mrr: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: The ISO 4217 currency of `mrr` (JPY, USD); None: the company's (Admin → Settings, else CURRENCY).
    currency: Mapped[str | None] = mapped_column(String(3))
    customer_since: Mapped[date | None]
    #: The staff member who looks after the account; used as the owner when a cancellation names none.
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    #: A BCP 47 tag such as `en` or `de-CH`.
    locale: Mapped[str] = mapped_column(String(35), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: When the person's details were erased (on request, or by retention); the anonymous facts remain.
    erased_at: Mapped[datetime | None]


#: In the order a cancellation usually moves through them.
STATES = ("needs_contact", "logged", "invited", "answered", "reviewed", "summarized")

STATE_LABELS = {
    "needs_contact": "Needs contact details",
    "logged": "Logged",
    "invited": "Survey sent",
    "answered": "Customer answered",
    "reviewed": "Reviewed",
    "summarized": "Summary sent",
}


class Cancellation(db.Model):
    """One lost customer, and the postmortem that follows."""

    __tablename__ = "cancellations"
    #: Personal data (feedback.db.Model): The anonymous facts (plan, state, feedback's choice) stay after an erasure.
    personal_data = ("customer_name", "customer_email", "company", "reason", "complaint", "comment")
    not_personal_data = ("plan", "currency", "source", "state", "locale", "feedback")
    __table_args__ = (
        CheckConstraint(
            "state IN ('needs_contact', 'logged', 'invited', 'answered', 'reviewed', 'summarized')", name="state_known"
        ),
        CheckConstraint("mrr IS NULL OR mrr >= 0", name="mrr_not_negative"),
        # The insights page filters a date range by owner or by plan (migration 0011).
        Index("ix_cancellations_owner_cancelled", "owner_id", "cancelled_at"),
        Index("ix_cancellations_plan_cancelled", "plan", "cancelled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    company: Mapped[str] = mapped_column(String(200), default="")
    plan: Mapped[str] = mapped_column(String(120), default="")
    #: Monthly recurring revenue lost, in `currency`'s main unit.
    mrr: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: The ISO 4217 currency of `mrr`, as billing or the sender said it; None: the company's.
    currency: Mapped[str | None] = mapped_column(String(3))
    customer_since: Mapped[date | None]
    #: The reason as staff or billing recorded it, before the customer says anything.
    reason: Mapped[str] = mapped_column(Text, default="")
    #: What the customer complained about when cancelling, in their words if we have them.
    complaint: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Where it came from: web, cli, api, webhook, demo.
    source: Mapped[str] = mapped_column(String(32), default="web")
    state: Mapped[str] = mapped_column(String(16), default="logged", index=True)
    cancelled_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The customer's language for the survey and its emails (en, de, fr); None lets their browser choose.
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    #: Stripe's `cancellation_details.feedback` (too_expensive, missing_features, ...), or the API's `feedback`.
    feedback: Mapped[str] = mapped_column(String(32), default="")
    #: Stripe's `cancellation_details.comment`: what the customer typed when cancelling.
    comment: Mapped[str] = mapped_column(Text, default="")
    #: When the customer's personal data was erased (on request, or by retention; see feedback.privacy).
    erased_at: Mapped[datetime | None]
    #: When a cancellation the customer scheduled in billing takes effect (the period's end): "Cancels on …".
    ends_at: Mapped[datetime | None]
    #: When billing said the subscription ended (Stripe's `customer.subscription.deleted`).
    ended_at: Mapped[datetime | None]
    #: When the customer undid a scheduled cancellation: the postmortem ends there, unsent mail withdrawn.
    stayed_at: Mapped[datetime | None]
    #: The subscription ended for a failed or disputed payment: the customer did not choose to leave, so no
    #: survey unless INVOLUNTARY_SURVEY or an owner starts one, and never among the customers' reasons.
    involuntary: Mapped[bool] = mapped_column(default=False, server_default=false())

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    logged_by: Mapped[User | None] = relationship(foreign_keys=[logged_by_id])
    customer: Mapped[Customer | None] = relationship()
    invitation: Mapped[Invitation | None] = relationship(back_populates="cancellation", uselist=False)
    review: Mapped[Review | None] = relationship(back_populates="cancellation", uselist=False)
    summary: Mapped[Summary | None] = relationship(back_populates="cancellation", uselist=False)
    #: What the customer wrote back by email (feedback.inbound), oldest first.
    replies: Mapped[list[CustomerReply]] = relationship(
        back_populates="cancellation", order_by="CustomerReply.received_at, CustomerReply.id"
    )
    events: Mapped[list[CancellationEvent]] = relationship(
        back_populates="cancellation", order_by="CancellationEvent.id", cascade="all, delete-orphan"
    )

    #: Not stored: set by `log_cancellation` on an open postmortem that a new report of the departure joined.
    joined = False

    @property
    def needs_contact(self) -> bool:
        """Billing told us of it without an address: no survey until staff add one."""
        return self.invitation is None and not self.customer_email and self.erased_at is None

    @property
    def billing_status(self) -> str:
        """scheduled (decided, not yet ended), stayed (undone), ended, or '' when billing never said."""
        if self.stayed_at is not None:
            return "stayed"
        if self.ended_at is not None:
            return "ended"
        return "scheduled" if self.ends_at is not None else ""

    @property
    def cancels_on(self) -> str:
        """ "Cancels on 31 Dec 2026" while a scheduled cancellation has not taken effect; else ''."""
        if self.billing_status != "scheduled":
            return ""
        assert self.ends_at is not None
        return f"Cancels on {self.ends_at.strftime('%-d %b %Y')}"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def display_name(self) -> str:
        return f"{self.customer_name} ({self.company})" if self.company else self.customer_name

    def record(self, kind: str, detail: str = "", at: datetime | None = None) -> CancellationEvent:
        """Adds a line to the timeline shown on the cancellation's page."""
        event = CancellationEvent(kind=kind, detail=detail, at=at or utcnow())
        self.events.append(event)
        return event


class CancellationEvent(db.Model):
    """The timeline: what happened to a cancellation, and when."""

    __tablename__ = "cancellation_events"
    personal_data = ("detail",)
    not_personal_data = ("kind",)

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    cancellation: Mapped[Cancellation] = relationship(back_populates="events")
