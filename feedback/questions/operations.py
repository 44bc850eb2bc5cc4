"""Finding and publishing questionnaire versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from feedback.extensions import db
from feedback.questions.defaults import DEFAULTS
from feedback.questions.models import Question, QuestionnaireVersion


def live_version(questionnaire: str) -> QuestionnaireVersion:
    """The newest published version; the defaults become version 1 the first time one is needed."""
    query = (
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire == questionnaire)
        .order_by(QuestionnaireVersion.number.desc())
        .limit(1)
    )
    version = db.session.scalars(query).first()
    if version is not None:
        return version
    try:
        with db.session.begin_nested():
            version = publish(questionnaire, DEFAULTS[questionnaire])
    except IntegrityError:
        # Another request published version 1 between our read and our write; theirs is as good.
        version = db.session.scalars(query).one()
    return version


def publish(
    questionnaire: str, questions: list[dict[str, Any]], published_by_id: int | None = None
) -> QuestionnaireVersion:
    """Adds a new immutable version; the unique (questionnaire, number) pair settles a race to publish."""
    latest = db.session.scalar(
        select(func.max(QuestionnaireVersion.number)).where(QuestionnaireVersion.questionnaire == questionnaire)
    )
    version = QuestionnaireVersion(
        questionnaire=questionnaire, number=(latest or 0) + 1, published_by_id=published_by_id
    )
    for position, spec in enumerate(questions, start=1):
        version.questions.append(
            Question(
                position=position,
                key=spec["key"],
                type=spec["type"],
                prompt=spec["prompt"],
                help=spec.get("help", ""),
                required=spec.get("required", False),
                choices=list(spec.get("choices", [])),
                show_if=spec.get("show_if"),
            )
        )
    db.session.add(version)
    db.session.flush()
    return version
