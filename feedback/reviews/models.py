from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.questions.models import QuestionnaireVersion


class Review(db.Model):
    """The account owner's internal postmortem of one cancellation."""

    __tablename__ = "reviews"
    #: Personal data (feedback.db.Model): The reviewer writes about the customer.
    personal_data = ("answers",)
    not_personal_data = ()

    id: Mapped[int] = mapped_column(primary_key=True)
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    cancellation: Mapped[Cancellation] = relationship(back_populates="review")
    version: Mapped[QuestionnaireVersion] = relationship()
    author: Mapped[User] = relationship()
