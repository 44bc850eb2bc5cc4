"""Parts of the review that a higher feature answers in its own way, registered at start-up, never imported.

A part stands in for one question of the internal review (by key): the action items feature answers "What must
change?" with rows of items instead of a paragraph. The question stays data (its prompt, place and "required"
come from the published version); the part brings the form, the template and what the answer writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from feedback.postmortem.models import Cancellation
from feedback.questions.models import Question

_HOOKS = "farewell.reviews"


@dataclass(frozen=True)
class ReviewPart:
    #: The question key it answers.
    key: str
    #: Included where the question would be, with `part`, `part_form`, `q` and `cancellation`.
    template: str
    #: (cancellation, question, the submitted form data or None) -> a form.
    make_form: Callable[[Cancellation, Question, Any], Any]
    #: (form, question) -> True when it may be submitted; otherwise it has set its errors.
    validate: Callable[[Any, Question], bool]
    #: (review, form, author): writes the answer, inside the review's transaction, before the summary is due.
    save: Callable[[Any, Any, Any], None]
    #: (form) -> True when the person asked for the page again (e.g. "Add more rows") rather than to submit.
    wants_more: Callable[[Any], bool] = lambda form: False


def add_review_part(app: Flask, part: ReviewPart) -> None:
    app.extensions.setdefault(_HOOKS, {})[part.key] = part


def review_parts() -> dict[str, ReviewPart]:
    return dict(current_app.extensions.get(_HOOKS, {}))
