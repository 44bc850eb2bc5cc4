"""Answers as outbound events carry them: choices are facts, what a person typed is their own words."""

from __future__ import annotations

from typing import Any

from feedback.questions.forms import display_answer
from feedback.questions.models import QuestionnaireVersion

#: Typed by the person: sent only to endpoints that include answers.
OWN_WORDS = ("short_text", "long_text")


def facts_and_words(version: QuestionnaireVersion, answers: dict[str, Any]) -> tuple[dict[str, str], list[dict]]:
    """({key: the chosen answer}, [{key, prompt, answer} for every typed answer]), unanswered questions left out."""
    facts: dict[str, str] = {}
    words: list[dict] = []
    for question in version.questions:
        shown = display_answer(question, answers)
        if not shown:
            continue
        if question.type in OWN_WORDS:
            words.append({"key": question.key, "prompt": question.prompt, "answer": shown})
        else:
            facts[question.key] = shown
    return facts, words
