from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db


class SiteSettings(db.Model):
    """The one row of settings admins change on the web; an empty column falls back to configuration."""

    __tablename__ = "site_settings"
    #: Personal data (feedback.db.Model): The team's own settings.
    personal_data = ()
    not_personal_data = (
        "company_name",
        "sender_name",
        "reply_to",
        "survey_intro",
        "logo_url",
        "accent_color",
        "currency",
    )
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    company_name: Mapped[str | None] = mapped_column(String(120))
    sender_name: Mapped[str | None] = mapped_column(String(120))
    #: Where customers' replies go; empty means the account owner of each cancellation.
    reply_to: Mapped[str | None] = mapped_column(String(254))
    survey_intro: Mapped[str | None] = mapped_column(Text)
    survey_delay_minutes: Mapped[int | None]
    survey_link_days: Mapped[int | None]
    #: https://… or a path on this site; shown above the customer's pages.
    logo_url: Mapped[str | None] = mapped_column(String(500))
    #: #rrggbb, at least 4.5:1 against white.
    accent_color: Mapped[str | None] = mapped_column(String(7))
    #: ISO 4217 (EUR, USD...): how MRR is shown, to staff and customers.
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
