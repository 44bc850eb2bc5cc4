"""A question in the customer's language: translated labels, unchanged keys and answer values.

Only what the customer reads is translated (prompt, help, choice labels). The values stored in the answers stay
the question's own `choices`, so that summaries and insights add up answers given in every language.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import get_locale

from feedback.i18n import DEFAULT_LOCALE, LANGUAGES
from feedback.questions.models import Question

#: The languages a question can be translated into: every language the survey ships in but the default.
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT_LOCALE]


@dataclass(frozen=True)
class LocalizedQuestion:
    key: str
    type: str
    prompt: str
    help: str
    required: bool
    #: The stored values, exactly the question's `choices`.
    choices: list[str]
    #: What the customer reads for each of `choices`, in the same order.
    labels: list[str]
    show_if: dict[str, Any] | None = None
    #: The answer `show_if` waits for, as the customer reads it (filled in by `localize_all`).
    show_if_label: str | None = None


def localize(question: Question | LocalizedQuestion, locale: str | None = None) -> LocalizedQuestion:
    """Each field falls back to the default language on its own: a missing help or choice label reads in English."""
    if isinstance(question, LocalizedQuestion):
        return question
    locale = locale or str(get_locale() or DEFAULT_LOCALE)
    translation = (question.translations or {}).get(locale) or {}
    labels = translation.get("choices") or []
    return LocalizedQuestion(
        key=question.key,
        type=question.type,
        prompt=translation.get("prompt") or question.prompt,
        help=translation.get("help") or question.help,
        required=question.required,
        choices=list(question.choices),
        labels=[
            labels[i] if i < len(labels) and isinstance(labels[i], str) and labels[i] else choice
            for i, choice in enumerate(question.choices)
        ],
        show_if=question.show_if,
    )


def localize_all(questions: Iterable[Question], locale: str | None = None) -> list[LocalizedQuestion]:
    """A whole questionnaire in one language, each "show if" naming its answer in that language too."""
    localized = [localize(question, locale) for question in questions]
    by_key = {question.key: question for question in localized}
    for index, question in enumerate(localized):
        controller = by_key.get(question.show_if["key"]) if question.show_if else None
        if question.show_if and controller and question.show_if["equals"] in controller.choices:
            label = controller.labels[controller.choices.index(question.show_if["equals"])]
            localized[index] = replace(question, show_if_label=label)
    return localized


def english_source(spec: dict[str, Any]) -> str:
    """A fingerprint of the English a translation translates (prompt, help, choices), kept beside it as `source`.

    When the English changes, the fingerprint no longer matches: the translation is stale, saying what the
    question used to say. A fingerprint rather than a copy keeps exports short; the editor shows the English anyway.
    """
    english = [spec.get("prompt") or "", spec.get("help") or "", list(spec.get("choices") or [])]
    return hashlib.sha256(json.dumps(english, ensure_ascii=False).encode()).hexdigest()[:16]


def with_sources(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The question's translations, each without a `source` taken to translate the English beside it now."""
    if not spec.get("translations"):
        return spec.get("translations")
    source = english_source(spec)
    translations = spec["translations"]
    return {code: {**wording, "source": wording.get("source") or source} for code, wording in translations.items()}


def stale_languages(spec: dict[str, Any]) -> list[str]:
    """Languages whose translation was written for other English than the question has now."""
    source = english_source(spec)
    return [
        code
        for code, wording in (spec.get("translations") or {}).items()
        if isinstance(wording, dict) and wording.get("source") not in (None, source)
    ]


def missing_parts(spec: dict[str, Any], code: str) -> list[str]:
    """What the customer would read in English in language `code`: the prompt, the help text, each choice."""
    wording = (spec.get("translations") or {}).get(code) or {}
    missing = []
    if not given_text(wording.get("prompt")):
        missing.append("the prompt")
    if given_text(spec.get("help")) and not given_text(wording.get("help")):
        missing.append("the help text")
    labels = wording.get("choices") or []
    for index, choice in enumerate(spec.get("choices") or []):
        if not (index < len(labels) and given_text(labels[index])):
            missing.append(f"the choice “{choice}”")
    return missing


def given_text(text: Any) -> bool:
    """Wording a customer can read: text, and not only spaces."""
    return isinstance(text, str) and bool(text.strip())


def translation_problems(translations: Any, choices: list[str]) -> list[str]:
    """What is wrong with a question's `translations`, for the question editor to show; empty when it is fine."""
    if translations in (None, {}):
        return []
    if not isinstance(translations, dict):
        return ["Translations must map a language code to its wording."]
    problems = []
    for code, wording in translations.items():
        if code not in LANGUAGES or code == DEFAULT_LOCALE:
            problems.append(f"{code!r} is not a language the survey ships in ({', '.join(LANGUAGES)}).")
            continue
        if not isinstance(wording, dict) or set(wording) - {"prompt", "help", "choices", "source"}:
            problems.append(f"{code}: give any of prompt, help and choices (and the English's source), nothing else.")
            continue
        for part in ("prompt", "help", "source"):
            if part in wording and not isinstance(wording[part], str):
                problems.append(f"{code}: the {part} must be text.")
        labels = wording.get("choices")
        if labels is not None and (
            not isinstance(labels, list) or len(labels) != len(choices) or not all(isinstance(x, str) for x in labels)
        ):
            problems.append(f"{code}: give one label per choice, {len(choices)} in all, in the same order.")
    return problems
