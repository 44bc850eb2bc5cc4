from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.db import utcnow
from feedback.extensions import db

QUESTIONNAIRES = ("exit-survey", "internal-review")
#: The questionnaires customers read, in their language; staff questionnaires stay in the default language.
TRANSLATED_QUESTIONNAIRES = ("exit-survey",)
QUESTION_TYPES = ("short_text", "long_text", "single_choice", "multiple_choice", "rating", "likelihood", "yes_no")


class QuestionnaireVersion(db.Model):
    """An immutable, published set of questions; every invitation and review points at the one it asked."""

    __tablename__ = "questionnaire_versions"
    personal_data = ()
    not_personal_data = ("questionnaire", "languages_off")
    __table_args__ = (
        UniqueConstraint("questionnaire", "number", name="uq_questionnaire_versions_number"),
        CheckConstraint("questionnaire IN ('exit-survey', 'internal-review')", name="questionnaire_known"),
    )
    # languages_off is read when needed, not returned by each INSERT: a migration's own publishing (0011) runs on a
    # schema that predates the column.
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire: Mapped[str] = mapped_column(String(32))
    #: 1, 2, 3… within one questionnaire; the highest is the live one.
    number: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Languages published switched off: their customers read this version, and the pages and emails around it,
    #: in the default language whole, rather than translated questions next to English ones.
    languages_off: Mapped[list[str]] = mapped_column(JSON, server_default="[]")

    questions: Mapped[list[Question]] = relationship(
        back_populates="version", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(db.Model):
    __tablename__ = "questions"
    #: Personal data (feedback.db.Model): Questions are the team's words, not a customer's.
    personal_data = ()
    not_personal_data = ("key", "type", "prompt", "help", "choices", "show_if", "translations")
    __table_args__ = (
        UniqueConstraint("version_id", "key", name="uq_questions_version_key"),
        UniqueConstraint("version_id", "position", name="uq_questions_version_position"),
        CheckConstraint(
            "type IN ('short_text', 'long_text', 'single_choice', 'multiple_choice', 'rating', 'likelihood', 'yes_no')",
            name="type_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    #: Stable across versions, so that reports can follow one question through edits.
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(24))
    prompt: Mapped[str] = mapped_column(Text)
    help: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=False)
    #: The offered answers, in order, for the choice types; empty otherwise.
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: {"key": <earlier single-choice key>, "equals": <one of its choices>} or None.
    show_if: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Per language: {"de": {"prompt": ..., "help": ..., "choices": [labels, in the order of `choices`]}}.
    #: Any part may be missing and falls back to the default language; stored answers are always the `choices`.
    translations: Mapped[dict[str, dict[str, Any]] | None] = mapped_column(JSON)

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="questions")


class QuestionnaireDraft(db.Model):
    """An admin's unpublished edits to one questionnaire; the live version is untouched until they publish."""

    __tablename__ = "questionnaire_drafts"
    personal_data = ()
    not_personal_data = ("questionnaire", "questions")
    __table_args__ = (
        CheckConstraint("questionnaire IN ('exit-survey', 'internal-review')", name="questionnaire_known"),
    )

    questionnaire: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The questions in order, each a dict of QUESTION_FIELDS, the same shape `flask questions export` writes.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The live version the draft started from, so the editor can say when someone published meanwhile.
    based_on_number: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
