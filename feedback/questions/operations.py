"""Finding and publishing questionnaire versions."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback import audit
from feedback.extensions import db
from feedback.i18n import LANGUAGES
from feedback.questions.defaults import DEFAULTS
from feedback.questions.models import Question, QuestionnaireVersion
from feedback.questions.translations import with_sources
from feedback.questions.validation import STORED_FIELDS

#: What a field is when a draft or a file leaves it out.
FIELD_DEFAULTS: dict[str, Any] = {"help": "", "required": False, "choices": [], "show_if": None, "translations": None}


def latest_version(questionnaire: str) -> QuestionnaireVersion | None:
    query = (
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire == questionnaire)
        .order_by(QuestionnaireVersion.number.desc())
        .limit(1)
    )
    return db.session.scalars(query).first()


def live_version(questionnaire: str) -> QuestionnaireVersion:
    """The newest published version; the defaults become version 1 the first time one is needed.

    Version 1 is committed on its own, so that it stands whatever the caller goes on to do (a page that only
    reads commits nothing). The one exception is a SQLite connection that already holds the write lock: a second
    connection would wait for it forever, so there the defaults join the caller's transaction (a savepoint). If
    another request published version 1 first, the unique (questionnaire, number) pair refuses ours and theirs
    is read instead.
    """
    version = latest_version(questionnaire)
    if version is None:
        try:
            if _holds_sqlite_write_lock():
                with db.session.begin_nested():
                    publish(questionnaire, DEFAULTS[questionnaire])
            else:
                with Session(db.engine) as session, session.begin():
                    publish(questionnaire, DEFAULTS[questionnaire], session=session)
        except IntegrityError:
            pass
        version = latest_version(questionnaire)
        assert version is not None
    return version


def _holds_sqlite_write_lock() -> bool:
    """True once this session's SQLite transaction has written (SQLite begins it at the first write)."""
    session = db.session()
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    return bool(session.connection().connection.dbapi_connection.in_transaction)


def publish(
    questionnaire: str,
    questions: list[dict[str, Any]],
    published_by_id: int | None = None,
    session: Session | None = None,
    languages_off: list[str] | None = None,
) -> QuestionnaireVersion:
    """Adds a new immutable version; the unique (questionnaire, number) pair settles a race to publish."""
    session = session or db.session
    latest = session.scalar(
        select(func.max(QuestionnaireVersion.number)).where(QuestionnaireVersion.questionnaire == questionnaire)
    )
    version = QuestionnaireVersion(
        questionnaire=questionnaire, number=(latest or 0) + 1, published_by_id=published_by_id
    )
    if languages_off:  # otherwise the column's server default, so that a migration's own publishing predates it
        version.languages_off = list(languages_off)
    for position, spec in enumerate(questions, start=1):
        question = normalized(spec)
        question["translations"] = with_sources(question)  # published, each translates the English beside it
        version.questions.append(Question(position=position, **question))
    session.add(version)
    session.flush()
    if published_by_id is not None and session is db.session:  # version 1 of the defaults publishes itself
        names = ", ".join(LANGUAGES[code] for code in version.languages_off)
        switched_off = f" with {names} switched off" if names else ""
        audit.record("questions.publish", version, f"Published {questionnaire} version {version.number}{switched_off}.")
    return version


def normalized(spec: dict[str, Any]) -> dict[str, Any]:
    """Exactly STORED_FIELDS, defaults filled in: the one place a question's fields are copied."""
    return {name: copy.deepcopy(spec.get(name, FIELD_DEFAULTS.get(name))) for name in STORED_FIELDS}


def question_spec(question: Question) -> dict[str, Any]:
    """A published question as plain data: for drafts, exports and previews."""
    spec = normalized({name: getattr(question, name) for name in STORED_FIELDS})
    spec["translations"] = with_sources(spec)  # versions published before sources were kept: they matched then
    return spec
