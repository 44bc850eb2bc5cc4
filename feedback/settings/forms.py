from wtforms import EmailField, IntegerField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from feedback.inputs.fields import normalize_email
from feedback.inputs.forms import Bounded, InputForm
from feedback.inputs.text import OneLine
from feedback.settings.operations import accent_problem, currency_problem, logo_problem

IN_HEADERS = OneLine("Keep this on one line: it appears in email headers.")


class SettingsForm(InputForm):
    """Every field may be left empty: then the value from configuration (shown as a placeholder) applies."""

    # These names go into email headers (From, Subject), where a line break would start a header of its own.
    company_name = StringField("Company name", validators=[Optional(), Length(max=120)], filters=[IN_HEADERS])
    sender_name = StringField("Sender name", validators=[Optional(), Length(max=120)], filters=[IN_HEADERS])
    reply_to = EmailField("Reply-to address", validators=[Optional(), Length(max=254)])
    survey_intro = TextAreaField("Survey introduction", validators=[Optional(), Length(max=2000)])
    survey_delay_minutes = IntegerField(
        "Delay before the invitation (minutes)",
        validators=[Optional(), Bounded(0, 10080, "Between 0 and 10,080 minutes (one week).")],
    )
    survey_link_days = IntegerField(
        "Link lifetime (days)", validators=[Optional(), Bounded(1, 365, "Between 1 and 365 days.")]
    )
    logo_url = StringField("Logo URL", validators=[Optional(), Length(max=500)])
    accent_color = StringField("Accent colour", validators=[Optional(), Length(max=7)])
    currency = StringField("Currency", validators=[Optional(), Length(max=3)], filters=[lambda v: (v or "").upper()])

    def validate_reply_to(self, field: EmailField) -> None:
        try:
            field.data = normalize_email(field.data or "")
        except ValueError as error:
            raise ValidationError(f"Enter an email address, like team@example.com: {error}") from None

    def validate_logo_url(self, field: StringField) -> None:
        problem = logo_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_currency(self, field: StringField) -> None:
        problem = currency_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_accent_color(self, field: StringField) -> None:
        problem = accent_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
