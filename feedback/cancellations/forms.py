from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional

from feedback.i18n import LANGUAGES
from feedback.inputs.forms import InputForm


class CancellationForm(InputForm):
    """Collects the facts; `log_cancellation` is the one that judges them."""

    customer_name = StringField("Customer's name", validators=[InputRequired("The customer's name is required.")])
    customer_email = EmailField(
        "Customer's email", validators=[InputRequired("The customer's email address is required.")]
    )
    company = StringField("Company", validators=[Optional()])
    plan = StringField("Plan", validators=[Optional()])
    mrr = DecimalField(
        "Monthly revenue lost (MRR)", places=2, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    customer_since = DateField("Customer since", validators=[Optional()])
    reason = TextAreaField("Reason given", validators=[Optional()])
    complaint = TextAreaField("What they complained about", validators=[Optional()])
    owner_email = SelectField("Account owner", validators=[InputRequired("Choose the account owner.")])
    locale = SelectField(
        "Customer's language",
        choices=[SelectChoice("", "Their browser's language")] + [SelectChoice(*item) for item in LANGUAGES.items()],
        validators=[Optional()],
        default="",
    )
    #: Ticked once the page warned that the customer has an open postmortem: add this report to it.
    join_open = BooleanField("Add it to the open postmortem", validators=[Optional()])
