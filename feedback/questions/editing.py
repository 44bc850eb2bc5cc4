"""The draft an admin edits, and publishing it (or a file) as a new immutable version."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from feedback import audit
from feedback.extensions import db
from feedback.formatting import plural
from feedback.questions.models import TRANSLATED_QUESTIONNAIRES, QuestionnaireDraft, QuestionnaireVersion
from feedback.questions.operations import live_version, normalized, publish, question_spec
from feedback.questions.translations import TRANSLATED, english_source
from feedback.questions.validation import (
    derive_key,
    languages_off_problems,
    missing_problems,
    question_problems,
    questionnaire_problems,
    stale_problems,
)


class InvalidQuestions(ValueError):
    """Carries every problem, so that the editor, the import and the tests can show them all at once."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def get_draft(questionnaire: str) -> QuestionnaireDraft | None:
    return db.session.get(QuestionnaireDraft, questionnaire)


def draft_questions(questionnaire: str) -> list[dict[str, Any]]:
    """The questions being edited: the draft's, or a copy of the live version's when there is no draft yet."""
    draft = get_draft(questionnaire)
    if draft is not None:
        return [normalized(q) for q in draft.questions]
    return [question_spec(q) for q in live_version(questionnaire).questions]


def save_draft(questionnaire: str, questions: list[dict[str, Any]], user_id: int | None) -> None:
    """Refuses a draft with broken keys or "show if" links; an empty draft is fine until it is published."""
    questions = [normalized(q) for q in questions]
    problems = questionnaire_problems(questions, allow_empty=True)
    if problems:
        raise InvalidQuestions(problems)
    draft = get_draft(questionnaire)
    if draft is None:
        based_on = live_version(questionnaire).number
        draft = QuestionnaireDraft(questionnaire=questionnaire, based_on_number=based_on)
        db.session.add(draft)
    draft.questions = questions
    draft.updated_by_id = user_id
    db.session.flush()
    audit.record(
        "questions.draft_save",
        ("questionnaire", questionnaire),
        f"Saved a draft of {plural(len(questions), 'question', 'questions')}.",
    )


def discard_draft(questionnaire: str) -> None:
    """The admin throws the draft away; recorded, as publishing (which also ends the draft) records itself."""
    if _drop_draft(questionnaire):
        audit.record("questions.draft_discard", ("questionnaire", questionnaire), "Discarded the draft.")


def _drop_draft(questionnaire: str) -> bool:
    draft = get_draft(questionnaire)
    if draft is None:
        return False
    db.session.delete(draft)
    db.session.flush()
    return True


def move(questions: list[dict[str, Any]], index: int, offset: int) -> list[dict[str, Any]]:
    target = index + offset
    if not (0 <= index < len(questions) and 0 <= target < len(questions)):
        return questions
    moved = list(questions)
    moved[index], moved[target] = moved[target], moved[index]
    return moved


def dependants(questions: list[dict[str, Any]], key: str) -> list[str]:
    """Keys of the questions shown only depending on the answer to `key`."""
    return [q["key"] for q in questions if q.get("show_if") and q["show_if"].get("key") == key]


def publish_checked(
    questionnaire: str, questions: Any, user_id: int | None = None, languages_off: Iterable[str] = ()
) -> QuestionnaireVersion:
    """Validates everything, then publishes in one transaction: all of it, or nothing.

    A survey speaks one language: a live language must translate every prompt, help text and choice, or the
    admin publishes with it in `languages_off` (its customers then read the default language whole). A stale
    translation is refused too: German customers would read last month's prompt under this month's help text.
    """
    languages_off = sorted(set(languages_off)) if isinstance(languages_off, list | tuple | set) else languages_off
    problems = languages_off_problems(languages_off) or publish_problems(questionnaire, questions, languages_off)
    if problems:
        raise InvalidQuestions(problems)
    live_version(questionnaire)  # the defaults become version 1 first, so that numbers follow history
    try:
        version = publish(
            questionnaire, [normalized(q) for q in questions], published_by_id=user_id, languages_off=languages_off
        )
    except IntegrityError:
        db.session.rollback()
        raise InvalidQuestions(["Someone else published at the same moment; please try again."]) from None
    return version


def live_languages(questionnaire: str, languages_off: Iterable[str]) -> list[str]:
    """The translated languages customers will read the questionnaire in; none for a staff questionnaire."""
    if questionnaire not in TRANSLATED_QUESTIONNAIRES:
        return []
    return [code for code in TRANSLATED if code not in set(languages_off)]


def publish_problems(questionnaire: str, questions: Any, languages_off: Iterable[str] = ()) -> list[str]:
    """What stops `questions` being published with `languages_off`, for the editor to show before anyone tries."""
    problems = questionnaire_problems(questions)
    if problems:
        return problems
    languages = live_languages(questionnaire, languages_off)
    return missing_problems(questions, languages) + stale_problems(questions, languages)


def publish_draft(questionnaire: str, user_id: int | None, languages_off: Iterable[str] = ()) -> QuestionnaireVersion:
    version = publish_checked(questionnaire, draft_questions(questionnaire), user_id, languages_off)
    _drop_draft(questionnaire)
    return version


def carry_sources(before: dict[str, Any] | None, spec: dict[str, Any], confirmed: Iterable[str] = ()) -> None:
    """Records in `spec` which English each of its translations was written for.

    A translation the admin left as it was still translates the English it was written for (which may now be
    stale); one they wrote anew, or `confirmed` as still fitting, translates the English in `spec`.
    """
    old = (before or {}).get("translations") or {}
    for code, wording in (spec.get("translations") or {}).items():
        previous = old.get(code) or {}
        unchanged = {k: v for k, v in previous.items() if k != "source"} == wording
        if unchanged and code not in confirmed:
            wording["source"] = previous.get("source") or english_source(before)
        else:
            wording["source"] = english_source(spec)


def put_question(
    questionnaire: str,
    index: int | None,
    spec: dict[str, Any],
    user_id: int | None,
    confirmed: Iterable[str] = (),
) -> dict[str, str]:
    """Adds (index None) or replaces one question of the draft; returns problems by field, saving nothing then.

    An empty key is derived from the prompt; a renamed key carries the questions that depend on it along.
    `confirmed` names languages whose unchanged translation the admin says still fits the new English.
    """
    questions = draft_questions(questionnaire)
    carry_sources(questions[index] if index is not None else None, spec, confirmed)
    others = [q for i, q in enumerate(questions) if i != index]
    old_key = questions[index]["key"] if index is not None else None
    if not spec["key"]:
        spec["key"] = old_key or derive_key(spec["prompt"], (q["key"] for q in others))
    earlier = questions[:index] if index is not None else questions
    problems = question_problems(spec, earlier)
    if "key" not in problems and spec["key"] in {q["key"] for q in others}:
        problems["key"] = (
            f"Another question already has the key {spec['key']!r}; keys are unique within a questionnaire."
        )
    if problems:
        return problems
    if index is None:
        questions.append(spec)
    else:
        questions[index] = spec
        for question in questions:
            if old_key != spec["key"] and question["show_if"] and question["show_if"]["key"] == old_key:
                question["show_if"] = {**question["show_if"], "key": spec["key"]}
    try:
        save_draft(questionnaire, questions, user_id)
    except InvalidQuestions as invalid:
        db.session.rollback()
        field = "choices" if spec["type"] == "single_choice" else "type"  # a later question depends on this one
        return {field: " ".join(invalid.problems)}
    return {}
