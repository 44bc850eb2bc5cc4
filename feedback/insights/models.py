"""The weekly digest's two tables: who wants it, and which week each person was sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db


class DigestPreference(db.Model):
    """A staff member's choice about the weekly digest; without a row, admins get it and owners do not."""

    __tablename__ = "digest_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    wants_digest: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DigestSent(db.Model):
    """One row per person and week: the unique key, not the job, guarantees a digest is never sent twice."""

    __tablename__ = "digests_sent"
    __table_args__ = (UniqueConstraint("user_id", "week_start", name="uq_digests_sent_user_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The Monday (UTC) that starts the week the digest reports on.
    week_start: Mapped[date]
    #: The digest's row in the outbox, so the sent mail can be found from here.
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
