from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db


class Customer(db.Model):
    """A customer as the billing system knows them; cancellations link here for tenure and revenue lost."""

    __tablename__ = "customers"
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
    customer_since: Mapped[date | None]
    #: The staff member who looks after the account; used as the owner when a cancellation names none.
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    #: A BCP 47 tag such as `en` or `de-CH`.
    locale: Mapped[str] = mapped_column(String(35), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
