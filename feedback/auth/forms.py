from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from feedback.inputs.forms import InputForm


class LoginForm(InputForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])


class CodeForm(InputForm):
    code = StringField(
        "Code", validators=[InputRequired("Enter the 6-digit code from your app, or a recovery code."), Length(max=40)]
    )
