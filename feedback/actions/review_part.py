"""The review's "What must change?" answered as action items: rows of title, owner, due date and reason.

Registered with the reviews feature at start-up (`feedback.reviews.parts`); it never imports this module.
"""

from __future__ import annotations

from typing import Any

from feedback.actions.forms import ReviewItemsForm, review_items_form
from feedback.actions.operations import InvalidActionItem, add_item, check_item, default_due
from feedback.postmortem.models import Cancellation
from feedback.questions.models import Question
from feedback.reviews.parts import ReviewPart

#: The question of the internal review that the rows answer (feedback/questions/defaults.py).
KEY = "action_items"
PREFIX = "items"


def make_form(cancellation: Cancellation, question: Question, formdata: Any) -> ReviewItemsForm:
    form = review_items_form(cancellation, formdata, PREFIX)
    form.has_errors = False
    form.problems = []
    # The paragraph the question used to be, one item per line: a review page opened before the items arrived
    # (or a script) still sends it, and each line becomes an item with the defaults rather than being lost.
    text = formdata.get(KEY, "") if formdata is not None else ""
    form.lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    form.defaults = {"owner_email": cancellation.owner.email, "due_on": default_due(), "reason": ""}
    return form


def _filled(form: ReviewItemsForm) -> list[Any]:
    return [row.form for row in form.rows if (row.form.title.data or "").strip()]


def _all_values(form: ReviewItemsForm) -> list[dict[str, Any]]:
    return [_values(row) for row in _filled(form)] + [{**form.defaults, "title": line} for line in form.lines]


def _values(row: Any) -> dict[str, Any]:
    return {
        "title": row.title.data,
        "owner_email": row.owner_email.data,
        "due_on": row.due_on.data,
        "reason": row.reason.data or "",
    }


def validate(form: ReviewItemsForm, question: Question) -> bool:
    """Every filled row must make a valid item; a required question needs at least one."""
    form.validate()
    problems: list[tuple[str, str]] = []
    for row in form.rows:
        for field in row.form:
            if field.errors:
                problems.append((field.id, f"{field.label.text}: {field.errors[0]}"))
    for row in _filled(form):
        try:
            check_item(_values(row))
        except InvalidActionItem as invalid:
            for name, message in invalid.errors.items():
                row[name].errors = [*row[name].errors, message]
                problems.append((row[name].id, message))
    for line in form.lines:
        try:
            check_item({**form.defaults, "title": line})
        except InvalidActionItem as invalid:
            problems.extend((form.rows[0].form.title.id, message) for message in invalid.errors.values())
    if question.required and not _all_values(form):
        first = form.rows[0].form.title
        first.errors = [*first.errors, "Add at least one action item."]
        problems.append((first.id, "Add at least one action item: what must change?"))
    form.problems = problems
    form.has_errors = bool(problems)
    return not problems


def save(review: Any, form: ReviewItemsForm, author: Any) -> None:
    for values in _all_values(form):
        add_item(review.cancellation, **values, created_by=author, source="review")


def wants_more(form: ReviewItemsForm) -> bool:
    return bool(form.more_requested)


def part() -> ReviewPart:
    return ReviewPart(
        key=KEY,
        template="actions/_review_rows.html",
        make_form=make_form,
        validate=validate,
        save=save,
        wants_more=wants_more,
    )
