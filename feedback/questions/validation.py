"""The rules a questionnaire must keep before it is published, with messages an admin can act on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from feedback.i18n import LANGUAGES
from feedback.questions.models import QUESTION_TYPES
from feedback.questions.translations import TRANSLATED, given_text, missing_parts, stale_languages, translation_problems

CHOICE_TYPES = ("single_choice", "multiple_choice")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
LIMITS = {"key": 64, "prompt": 500, "help": 1000, "choice": 200, "choices": 30, "questions": 50}
TYPE_LABELS = {
    "short_text": "Short text",
    "long_text": "Long text",
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "rating": "Rating 1–5",
    "likelihood": "Likelihood 0–10",
    "yes_no": "Yes / no",
}
#: Every field a question carries from a draft or a file into a published version; a new field is one more name.
QUESTION_FIELDS = ("key", "prompt", "help", "type", "required", "choices", "show_if")
#: Fields a question may carry beyond those seven; an export leaves them out when they are empty.
OPTIONAL_FIELDS = ("translations",)
STORED_FIELDS = QUESTION_FIELDS + OPTIONAL_FIELDS


def derive_key(prompt: str, taken: Iterable[str] = ()) -> str:
    """A readable key from the prompt ("What was the main reason?" -> what_was_the_main_reason), unique."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    key = ""
    for word in words:
        if len(key) + len(word) + 1 > 40:
            break
        key = f"{key}_{word}" if key else word
    if not key or not key[0].isalpha():
        key = f"q_{key}" if key else "question"
    taken = set(taken)
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}_{n}", n + 1
    return candidate


def question_problems(spec: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, str]:
    """What is wrong with one question, by field name, given the questions before it."""
    problems: dict[str, str] = {}
    key = spec.get("key")
    if not isinstance(key, str) or not key:
        problems["key"] = "Every question needs a key."
    elif len(key) > LIMITS["key"]:
        problems["key"] = f"The key must be at most {LIMITS['key']} characters."
    elif not KEY_PATTERN.match(key):
        problems["key"] = "The key may use only lower-case letters, digits and _, and must start with a letter."
    elif key in {q.get("key") for q in earlier if isinstance(q.get("key"), str)}:
        problems["key"] = f"Another question already has the key {key!r}; keys are unique within a questionnaire."
    kind = spec.get("type")
    if kind not in QUESTION_TYPES:
        problems["type"] = f"The type must be one of: {', '.join(QUESTION_TYPES)}."
    prompt = spec.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems["prompt"] = "Every question needs a prompt."
    elif len(prompt) > LIMITS["prompt"]:
        problems["prompt"] = f"The prompt must be at most {LIMITS['prompt']} characters (it has {len(prompt)})."
    help_text = spec.get("help", "")
    if not isinstance(help_text, str):
        problems["help"] = "The help text must be text."
    elif len(help_text) > LIMITS["help"]:
        problems["help"] = f"The help text must be at most {LIMITS['help']} characters (it has {len(help_text)})."
    if not isinstance(spec.get("required", False), bool):
        problems["required"] = "'required' must be true or false."
    choice_problem = _choices_problem(kind, spec.get("choices", []))
    if choice_problem:
        problems["choices"] = choice_problem
    show_if_problem = _show_if_problem(spec.get("show_if"), earlier)
    if show_if_problem:
        problems["show_if"] = show_if_problem
    translation_problem = translation_problems(spec.get("translations"), spec.get("choices", [])) or _too_long(
        spec.get("translations")
    )
    if translation_problem:
        problems["translations"] = " ".join(translation_problem)
    return problems


def _too_long(translations: Any) -> list[str]:
    """Translations are bounded like the wording they translate (called once their shape is known to be right)."""
    problems = []
    for code, wording in (translations or {}).items():
        for part, limit in (("prompt", LIMITS["prompt"]), ("help", LIMITS["help"])):
            if len(wording.get(part, "")) > limit:
                problems.append(f"{code}: the {part} must be at most {limit} characters.")
        if any(len(label) > LIMITS["choice"] for label in wording.get("choices") or []):
            problems.append(f"{code}: each choice must be at most {LIMITS['choice']} characters.")
    return problems


def _choices_problem(kind: Any, choices: Any) -> str | None:
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        return "The choices must be a list of texts."
    if kind not in CHOICE_TYPES:
        return "Only single- and multiple-choice questions have choices." if choices else None
    if any(not c.strip() for c in choices):
        return "A choice cannot be empty."
    if len({c.strip().lower() for c in choices}) != len(choices):
        return "Each choice must be different from the others."
    if len(choices) < 2:
        return "A choice question needs at least two different choices."
    if len(choices) > LIMITS["choices"]:
        return f"A question can offer at most {LIMITS['choices']} choices."
    longest = max(len(c) for c in choices)
    if longest > LIMITS["choice"]:
        return f"Each choice must be at most {LIMITS['choice']} characters (one has {longest})."
    return None


def _show_if_problem(show_if: Any, earlier: list[dict[str, Any]]) -> str | None:
    if show_if is None:
        return None
    if not isinstance(show_if, dict) or set(show_if) != {"key", "equals"}:
        return '"Show if" must name a question and one of its answers: {"key": ..., "equals": ...}.'
    controller = next((q for q in earlier if q.get("key") == show_if["key"]), None)
    if controller is None:
        return f'"Show if" must point to an earlier question; there is no question {show_if["key"]!r} before this one.'
    if controller.get("type") != "single_choice":
        return f'"Show if" must point to a single-choice question; {show_if["key"]!r} is not one.'
    if controller.get("show_if") is not None:
        return f'"Show if" can go one level deep only: {show_if["key"]!r} is itself shown only sometimes.'
    choices = controller.get("choices", [])
    if not isinstance(choices, list) or show_if["equals"] not in choices:
        return f'"Show if" must use one of the choices of {show_if["key"]!r}; {show_if["equals"]!r} is not among them.'
    return None


def questionnaire_problems(specs: Any, allow_empty: bool = False) -> list[str]:
    """Every problem with a whole questionnaire, each naming its question, so that all can be fixed at once."""
    if not isinstance(specs, list):
        return ["'questions' must be a list of questions."]
    problems: list[str] = []
    if not specs and not allow_empty:
        problems.append("A questionnaire needs at least one question before it can be published.")
    if len(specs) > LIMITS["questions"]:
        problems.append(f"A questionnaire can have at most {LIMITS['questions']} questions (it has {len(specs)}).")
    for number, spec in enumerate(specs, start=1):
        if not isinstance(spec, dict):
            problems.append(f"Question {number}: must be an object with the fields {', '.join(QUESTION_FIELDS)}.")
            continue
        name = f"Question {number} ({spec['key']})" if isinstance(spec.get("key"), str) else f"Question {number}"
        unknown = sorted(set(spec) - set(STORED_FIELDS))
        if unknown:
            problems.append(f"{name}: unknown field(s) {', '.join(unknown)}.")
        for message in question_problems(spec, [q for q in specs[: number - 1] if isinstance(q, dict)]).values():
            problems.append(f"{name}: {message}")
    return problems


def stale_problems(specs: list[dict[str, Any]], languages: Iterable[str] = TRANSLATED) -> list[str]:
    """Translations written for English a question no longer has: published, they would mix old and new wording.

    Only `languages` count: a language switched off is never read, so its stale wording harms nobody.
    """
    languages = set(languages)
    problems = []
    for number, spec in enumerate(specs, start=1):
        for code in (code for code in stale_languages(spec) if code in languages):
            problems.append(
                f"Question {number} ({spec['key']}): the {LANGUAGES[code]} ({code}) translation was written for "
                "earlier English wording. Update it, tick that it still fits, or clear it so that this question "
                "reads in English."
            )
    return problems


def missing_problems(specs: list[dict[str, Any]], languages: Iterable[str]) -> list[str]:
    """Each question a live language lacks wording for, naming each missing part.

    Published, that language's customers would read an English question among translated ones ("Hauptgrund"
    above "Which tool did you move to?"); the admin translates it, or publishes with that language switched off.
    """
    problems = []
    for number, spec in enumerate(specs, start=1):
        for code in languages:
            missing = missing_parts(spec, code)
            if not missing:
                continue
            choices = [f"the choice “{choice}”" for choice in spec.get("choices") or []]
            if len(missing) == 1 + given_text(spec.get("help")) + len(choices):
                lacks = f"has no {LANGUAGES[code]} ({code}) translation"
            else:
                if choices and set(choices) <= set(missing):
                    missing = [part for part in missing if part not in choices] + ["every choice"]
                parts = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
                lacks = f"the {LANGUAGES[code]} ({code}) translation lacks {parts}"
            problems.append(
                f"Question {number} ({spec['key']}): {lacks}. Translate it, or publish with {LANGUAGES[code]} "
                "switched off."
            )
    return problems


def languages_off_problems(languages_off: Any) -> list[str]:
    """Only languages the survey ships in, other than the default, can be switched off."""
    if not isinstance(languages_off, list | tuple | set) or not all(isinstance(code, str) for code in languages_off):
        return ["The languages to switch off must be a list of language codes."]
    unknown = sorted(code for code in languages_off if code not in TRANSLATED)
    if unknown:
        return [f"Only {', '.join(TRANSLATED)} can be switched off, not {', '.join(unknown)}."]
    return []
