"""Win-back's records: each "we changed this" decision per customer and change, and referrals followed up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.actions.models import ActionItem
from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation


class WinbackNotice(db.Model):
    """The owner's decision on telling one customer about one change: `sent` (one email) or `skipped`.

    Unique on (address, item): at most one "we changed this" per customer per change, however often anyone clicks.
    """

    __tablename__ = "winback_notices"
    #: Personal data (feedback.db.Model): The notice went to the customer and names them.
    personal_data = ("email", "subject", "body")
    not_personal_data = ("decision",)
    __table_args__ = (
        UniqueConstraint("email", "action_item_id", name="uq_winback_notices_once"),
        CheckConstraint("decision IN ('sent', 'skipped')", name="decision_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), index=True)
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    #: Lower-cased customer address.
    email: Mapped[str] = mapped_column(String(254))
    decision: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300), default="")
    #: The text as the owner left it after editing.
    body: Mapped[str] = mapped_column(Text, default="")
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    cancellation: Mapped[Cancellation] = relationship()
    action_item: Mapped[ActionItem] = relationship()
    decided_by: Mapped[User] = relationship()


class ReferralContact(db.Model):
    """That someone on the team followed up a "someone we might suit better" answer."""

    __tablename__ = "referral_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique: an answer is contacted once; un-marking deletes the row.
    survey_response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True)
    contacted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    contacted_at: Mapped[datetime] = mapped_column(default=utcnow)

    contacted_by: Mapped[User] = relationship()
