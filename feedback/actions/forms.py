"""The forms for action items: a row (in the review, several at once), the full item, and closing one."""

from __future__ import annotations

from typing import Any

from wtforms import DateField, FieldList, FormField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from feedback.actions.operations import NOTE_MAX, TICKET_MAX, TITLE_MAX, active_staff, customer_reasons, default_due
from feedback.inputs.forms import InputForm, InputSubform
from feedback.postmortem.models import Cancellation

#: Blank rows the review starts with; "Add more rows" adds this many again (a plain submit button, no JavaScript).
ROWS = 3
MAX_ROWS = 30


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ItemRow(InputSubform):
    """One item as the review asks for it; a row with no title is simply not an item."""

    title = StringField("What must change", validators=[Optional(), Length(max=TITLE_MAX)], filters=[_strip])
    owner_email = SelectField("Owner", validate_choice=False)
    due_on = DateField("Due", validators=[Optional()])
    reason = SelectField("Addresses the customer's reason", validate_choice=False)


class ReviewItemsForm(InputSubform):
    rows = FieldList(FormField(ItemRow), min_entries=ROWS, max_entries=MAX_ROWS)


class ItemForm(InputForm):
    """Adding an item on the postmortem page, or editing one."""

    title = StringField("What must change", validators=[Length(max=TITLE_MAX)], filters=[_strip])
    owner_email = SelectField("Owner", validate_choice=False)
    due_on = DateField("Due", validators=[Optional()])
    reason = SelectField("Addresses the customer's reason", validate_choice=False)
    ticket_url = StringField("Ticket", validators=[Optional(), Length(max=TICKET_MAX)], filters=[_strip])


class CloseForm(InputForm):
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=NOTE_MAX)], filters=[_strip])


def owner_choices() -> list[SelectChoice]:
    return [SelectChoice(user.email, user.name) for user in active_staff()]


def reason_choices(current: str = "") -> list[SelectChoice]:
    reasons = customer_reasons()
    if current and current not in reasons:
        reasons = [current, *reasons]  # an item keeps a reason the survey has since reworded
    return [SelectChoice("", "None in particular"), *(SelectChoice(r, r) for r in reasons)]


def fill_choices(form: Any, current_reason: str = "") -> None:
    form.owner_email.choices = owner_choices()
    form.reason.choices = reason_choices(current_reason)


def review_items_form(cancellation: Cancellation, formdata: Any, prefix: str) -> ReviewItemsForm:
    """The review's rows: owner the postmortem's owner and due in 30 days unless changed; more rows on request."""
    form = ReviewItemsForm(formdata, prefix=prefix)
    form.more_requested = formdata is not None and bool(formdata.get(f"{prefix}-more"))
    wanted = len(form.rows.entries)
    if form.more_requested:
        wanted = min(wanted + ROWS, MAX_ROWS)
    while len(form.rows.entries) < wanted:
        form.rows.append_entry()
    for row in form.rows:
        fill_choices(row.form)
        row.form.owner_email.data = row.form.owner_email.data or cancellation.owner.email
        if row.form.due_on.data is None and (formdata is None or row.form.due_on.raw_data in (None, [])):
            row.form.due_on.data = default_due()
    return form
