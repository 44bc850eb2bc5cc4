"""A published version's questions, read once per process: a published version never changes."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from feedback.extensions import db
from feedback.inputs.forms import InputForm
from feedback.questions.forms import questionnaire_form_class
from feedback.questions.models import Question
from feedback.questions.translations import LocalizedQuestion, localize_all


def published_questions(version_id: int, locale: str) -> list[LocalizedQuestion]:
    """The version's questions in `locale`, from this app's memory after the first time.

    Safe across processes without any invalidation: publishing makes a new version (a new key) and never
    changes an old one, so a remembered version is right for as long as the process lives.
    """
    return list(_published(version_id, locale)[0])


def published_form_class(version_id: int, locale: str) -> type[InputForm]:
    """The survey form's class for the version in `locale`, built once like its questions."""
    return _published(version_id, locale)[1]


def _published(version_id: int, locale: str) -> tuple[tuple[LocalizedQuestion, ...], type[InputForm]]:
    remembered: dict[tuple[int, str], tuple[tuple[LocalizedQuestion, ...], type[InputForm]]]
    remembered = current_app.extensions.setdefault("farewell_published_questions", {})
    found = remembered.get((version_id, locale))
    if found is None:
        rows = db.session.scalars(
            select(Question).where(Question.version_id == version_id).order_by(Question.position)
        ).all()
        questions = tuple(localize_all(rows, locale))
        found = remembered[(version_id, locale)] = (questions, questionnaire_form_class(questions))
    return found
