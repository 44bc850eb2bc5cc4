from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.questions.models import QuestionnaireVersion


class Invitation(db.Model):
    """The departing customer's invitation to the exit survey; its signed link answers once."""

    __tablename__ = "invitations"
    personal_data = ()
    not_personal_data = ("nonce",)
    __table_args__ = (CheckConstraint("answered_at IS NULL OR expired_at IS NULL", name="answered_or_expired"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), unique=True)
    #: The questions that were live when the invitation was made; the survey shows these, whatever happens later.
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    #: Random, bound into the signed link, so that a link names exactly one invitation.
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None]
    #: When the link was first fetched, by a person or by a mail scanner that follows every link it delivers.
    fetched_at: Mapped[datetime | None]
    #: When a person first had the page in front of them: the page's beacon once a browser shows it, or any submit.
    opened_at: Mapped[datetime | None]
    #: Set exactly once, by the submission that wins; the survey's single-use rule rests on it.
    answered_at: Mapped[datetime | None]
    #: Set by the sweeper when the link lapsed unanswered.
    expired_at: Mapped[datetime | None]
    #: When the one gentle reminder was queued; set once, so there is never a second.
    reminded_at: Mapped[datetime | None]

    cancellation: Mapped[Cancellation] = relationship(back_populates="invitation")
    version: Mapped[QuestionnaireVersion] = relationship()
    response: Mapped[SurveyResponse | None] = relationship(back_populates="invitation", uselist=False)


class LinkRenewal(db.Model):
    """A fresh survey link the customer asked for from an expired one; the rows are what the rate limit counts."""

    __tablename__ = "link_renewals"
    personal_data = ()
    not_personal_data = ("replaced_nonce",)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The nonce of the link it replaced, so that the old link still says "expired" rather than "not found".
    replaced_nonce: Mapped[str] = mapped_column(String(32), unique=True)


class SurveyResponse(db.Model):
    """The customer's answers, keyed by question key, against the version they were asked."""

    __tablename__ = "survey_responses"
    personal_data = ("answers", "user_agent")
    not_personal_data = ()

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique: the database, not the view, guarantees one answer per link.
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    invitation: Mapped[Invitation] = relationship(back_populates="response")
    version: Mapped[QuestionnaireVersion] = relationship()
