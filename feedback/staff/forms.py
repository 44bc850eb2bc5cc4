from wtforms import EmailField, PasswordField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from feedback.inputs.forms import InputForm


class InviteForm(InputForm):
    name = StringField("Name", validators=[InputRequired("Enter their name."), Length(max=120)])
    email = EmailField("Email", validators=[InputRequired("Enter their email address.")])
    role = RadioField(
        "Role",
        choices=[
            SelectChoice("owner", "Account owner: their own cancellations and reviews"),
            SelectChoice("admin", "Admin: everything"),
        ],
        default="owner",
        validators=[InputRequired("Choose a role.")],
    )


class SetPasswordForm(InputForm):
    password = PasswordField("New password", validators=[InputRequired("Choose a password.")])
    confirm = PasswordField(
        "Repeat the password",
        validators=[InputRequired("Repeat the password."), EqualTo("password", "The two passwords don't match.")],
    )


class ReassignForm(InputForm):
    to_user = SelectField("Give them to", coerce=int, validators=[InputRequired("Choose who takes them over.")])
