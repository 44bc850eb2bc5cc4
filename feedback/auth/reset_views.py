"""/reset-password: ask for a link, then choose a new password with it."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired

from feedback.auth.operations import InvalidUser
from feedback.auth.reset import check_reset, request_reset, reset_password
from feedback.extensions import db
from feedback.inputs.forms import InputForm

blueprint = Blueprint("password_reset", __name__, url_prefix="/reset-password")

PAGES = {"invalid": 404, "expired": 410, "used": 410}


class RequestForm(InputForm):
    email = EmailField("Email", validators=[InputRequired("Enter your email address.")])


class ChooseForm(InputForm):
    password = PasswordField("New password", validators=[InputRequired("Choose a password.")])
    confirm = PasswordField(
        "Repeat the password",
        validators=[InputRequired("Repeat the password."), EqualTo("password", "The two passwords don't match.")],
    )


def first_in_a_while(address: str) -> bool:
    """At most one reset email per address per PASSWORD_RESET_EMAIL_RATE_LIMIT, whether it has an account or not
    (a limit on staff addresses alone would tell them apart). Counted by the rate limits (feedback.security),
    under a hash: the address is never a key in Redis."""
    within_limit = current_app.extensions.get("farewell.within_limit")
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return within_limit is None or within_limit("PASSWORD_RESET_EMAIL_RATE_LIMIT", digest)


@blueprint.before_request
def passwords_off() -> None:
    if current_app.config["OIDC_ONLY"]:
        abort(404, "Passwords are off here: sign in with single sign-on.")


@blueprint.route("/", methods=["GET", "POST"])
def ask() -> str | tuple[str, int]:
    form = RequestForm()
    if form.validate_on_submit():
        address = (form.email.data or "").strip().lower()
        if first_in_a_while(address):  # else a reset email went to it minutes ago: the same page, no email
            request_reset(address)
            db.session.commit()
        # The same answer whether or not the address has an account, so the page can't be used to find staff.
        return render_template("auth/reset_sent.html", email=form.email.data)
    status = 422 if form.errors else 200
    return render_template("auth/reset_request.html", form=form), status


@blueprint.route("/<token>", methods=["GET", "POST"])
def choose(token: str) -> str | Response | tuple[str, int]:
    state, user = check_reset(token)
    if state != "ok" or user is None:
        return render_template("auth/reset_unusable.html", state=state), PAGES.get(state, 404)
    form = ChooseForm()
    if form.validate_on_submit():
        try:
            reset_password(user, form.password.data or "")
        except InvalidUser as error:
            form.password.errors = [*form.password.errors, str(error)]
        else:
            db.session.commit()
            flash("Your password is changed. Log in with it; your other sessions have ended.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return render_template("auth/reset_choose.html", form=form, user=user), status
