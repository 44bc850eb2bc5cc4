"""A questionnaire version becomes a WTForms form; its answers become plain JSON, keyed by question key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, RadioField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from feedback.inputs.forms import InputForm
from feedback.inputs.text import flattened_filter, multi_line, multi_line_filter
from feedback.questions.models import Question
from feedback.questions.translations import LocalizedQuestion, localize

YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
SCALES = {"rating": range(1, 6), "likelihood": range(0, 11)}
TEXT_LIMITS = {"short_text": 300, "long_text": 5000}


def required_message(question: LocalizedQuestion) -> Any:
    """Names the question, so that the error summary can say just what the field says (as GOV.UK's does)."""
    return _l("Please answer “%(prompt)s”", prompt=question.prompt)


def _field(question: Question | LocalizedQuestion) -> Field:
    question = localize(question)
    # A question shown only sometimes is checked for an answer after the form knows whether it was shown.
    required = question.required and not question.show_if
    validators: list[Any] = [InputRequired(required_message(question)) if required else Optional()]
    label = question.prompt
    options = [SelectChoice(value, label) for value, label in zip(question.choices, question.labels, strict=True)]
    match question.type:
        case "short_text" | "long_text":
            limit = TEXT_LIMITS[question.type]
            validators.append(
                Length(
                    max=limit,
                    message=_l(
                        "Please keep your answer to “%(prompt)s” under %(limit)s characters.",
                        prompt=question.prompt,
                        limit=limit,
                    ),
                )
            )
            # The input filter: a short answer is made one line, a long one keeps its lines and drops the rest.
            if question.type == "short_text":
                return StringField(label, validators=validators, filters=[flattened_filter, _strip])
            return TextAreaField(label, validators=validators, filters=[multi_line_filter, _strip])
        case "single_choice":
            return RadioField(label, choices=options, validators=validators)
        case "multiple_choice":
            return SelectMultipleField(label, choices=options, validators=validators)
        case "rating" | "likelihood":
            scale = [SelectChoice(n, str(n)) for n in SCALES[question.type]]
            return RadioField(label, choices=scale, coerce=int, validators=validators)
        case "yes_no":
            return RadioField(label, choices=YES_NO, validators=validators)
    raise ValueError(f"unknown question type {question.type!r}")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def questionnaire_form(
    questions: Iterable[Question | LocalizedQuestion], csrf: bool = True, **kwargs: Any
) -> InputForm:
    """A form whose fields are named by question key, in the version's order.

    `csrf=False` for the customer's survey: its signed, single-use link is the credential, and a customer whose
    browser keeps no cookies must still be able to answer.
    """
    return questionnaire_form_class(questions)(meta={"csrf": csrf}, **kwargs)


def questionnaire_form_class(questions: Iterable[Question | LocalizedQuestion]) -> type[InputForm]:
    """The form's class, which a published version may keep (feedback.questions.published)."""
    questions = list(questions)
    conditional = [q for q in questions if q.show_if]

    class QuestionnaireForm(InputForm):
        def validate(self, extra_validators: Any = None) -> bool:
            super().validate(extra_validators)
            for question in conditional:
                field = self[question.key]
                if not is_shown(question, self):
                    field.errors = []  # a hidden question neither complains nor keeps an answer
                    field.data = None
                elif question.required and field.data in (None, "", []):
                    field.errors = [required_message(localize(question))]
            return not self.errors

    for question in questions:
        setattr(QuestionnaireForm, question.key, _field(question))
    return QuestionnaireForm


def is_shown(question: Question | LocalizedQuestion, form: InputForm) -> bool:
    """One level of "show if": the earlier single-choice question has the given answer."""
    if not question.show_if:
        return True
    return form[question.show_if["key"]].data == question.show_if["equals"]


def answers_from(form: InputForm, questions: Iterable[Question | LocalizedQuestion]) -> dict[str, Any]:
    """The answers worth keeping: unanswered questions are left out rather than stored empty."""
    answers: dict[str, Any] = {}
    for question in questions:
        value = form[question.key].data
        if value in (None, "", []):
            continue
        if question.type == "yes_no":
            value = value == "yes"
        answers[question.key] = value
    return answers


def display_answer(question: Question, answers: Mapping[str, Any]) -> str:
    """An answer as a person reads it, in the summary, the emails and the staff pages.

    Passed through the input filter again: an answer stored before the filter existed may hold a NUL, which
    PostgreSQL refuses in every email and page that would quote it.
    """
    value = answers.get(question.key)
    if value is None or value == "" or value == []:
        return ""
    match question.type:
        case "yes_no":
            return "Yes" if value else "No"
        case "multiple_choice":
            return multi_line(", ".join(str(v) for v in value))
        case "rating":
            return f"{value} out of 5"
        case "likelihood":
            return f"{value} out of 10"
    return multi_line(str(value))
