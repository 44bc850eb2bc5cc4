"""The base of every web form: each text field passes the input filter before any validator sees it."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Form, PasswordField, StringField, TextAreaField
from wtforms.validators import NumberRange, StopValidation

from feedback.inputs.text import OneLine, flattened_filter, multi_line_filter


def _is_input_filter(candidate: Any) -> bool:
    return isinstance(candidate, OneLine) or candidate in (multi_line_filter, flattened_filter)


def bind_with_input_filter(meta: Any, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
    """Binds a field with the input filter first among its filters, unless it brings one of its own."""
    field_class = unbound_field.field_class
    filters = list(unbound_field.kwargs.get("filters", ()))
    if not any(_is_input_filter(f) for f in filters) and issubclass(field_class, StringField):
        if issubclass(field_class, TextAreaField):
            filters.insert(0, multi_line_filter)
        elif not issubclass(field_class, PasswordField):
            filters.insert(0, OneLine())
    return unbound_field.bind(form=form, **{**options, "filters": filters})


class InputForm(FlaskForm):
    """A text area's value is cleaned of control characters; any other text field refuses them, beside the field.

    A field may bring its own `OneLine(message)` to word the refusal, or `flattened_filter` to take any text as
    one line (a survey answer: a departing customer is not asked to find an invisible character). Passwords are
    left as typed: they are only ever hashed, and a character refused here would lock out whoever chose it.
    """

    class Meta:
        bind_field = bind_with_input_filter


class InputSubform(Form):
    """The same filter for a form nested in another (a row of a FieldList), which carries no CSRF token of its own."""

    class Meta:
        bind_field = bind_with_input_filter


class Bounded(NumberRange):
    """WTForms' NumberRange for a whole number of any size: its own check takes the number as a float first, and
    a 400-digit one overflows (a 500). Out of range, whatever the size, is the field's message, and nothing after."""

    def __init__(self, minimum: int, maximum: int, message: str):
        super().__init__(minimum, maximum, message)

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, int) and not self.min <= field.data <= self.max:  # type: ignore[operator]
            raise StopValidation(self.message)
        super().__call__(form, field)
