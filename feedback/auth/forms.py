from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired

from feedback.inputs.forms import InputForm


class LoginForm(InputForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])
