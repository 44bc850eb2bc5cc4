"""The second step of signing in: between a right password and a session there is only a pending mark in the
session cookie, so no other URL is open until a code is given (nothing calls login_user before it)."""

from __future__ import annotations

import math
import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_user
from werkzeug.wrappers import Response

from feedback.auth import two_factor
from feedback.auth.forms import CodeForm
from feedback.auth.models import User
from feedback.auth.operations import record_sign_in
from feedback.auth.throttle import claim_attempt, clear_failures
from feedback.db import utcnow
from feedback.extensions import db

blueprint = Blueprint("second_factor", __name__, url_prefix="/login")
PENDING = "second_factor"
#: How long after the password the code may come.
PENDING_SECONDS = 600


def begin(user: User, destination: str | None) -> Response:
    """Called by the login view once the password is right: remembers who, for the code page only."""
    session.clear()
    session[PENDING] = {"user": user.id, "generation": user.session_generation, "next": destination, "at": time.time()}
    return redirect(url_for("second_factor.code" if user.totp_secret else "second_factor.enrol"))


def _pending() -> User | None:
    mark = session.get(PENDING)
    if not isinstance(mark, dict) or time.time() - float(mark.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db.session.get(User, mark.get("user"))
    if user is None or not user.active or user.session_generation != mark.get("generation"):
        return None
    return user


def _finish(user: User, how: str) -> str | None:
    destination = session.get(PENDING, {}).get("next")
    session.clear()
    login_user(user)
    user.last_login_at = utcnow()
    clear_failures(user.email)
    record_sign_in(user, how=f"a password and {how}")
    db.session.commit()
    return destination


def _throttled(form: CodeForm, user: User, template: str, **context: object) -> tuple[str, int, dict[str, str]] | None:
    """Codes are throttled as passwords are, counted against the same account and client address."""
    throttled = claim_attempt(user.email, request.remote_addr or "")
    if throttled is None:
        return None
    record_sign_in(user, "throttled")
    db.session.commit()
    wait = max(1, math.ceil((throttled.until - utcnow()).total_seconds()))
    minutes = math.ceil(wait / 60)
    form.code.errors = [f"Too many wrong codes. Try again in {minutes} minute{'s' if minutes != 1 else ''}."]
    return render_template(template, form=form, **context), 429, {"Retry-After": str(wait)}


def _expired() -> Response:
    session.pop(PENDING, None)
    flash("Log in again: that sign-in was not finished in time.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/code", methods=["GET", "POST"])
def code() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    user = _pending()
    if user is None:
        return _expired()
    if user.totp_secret is None:
        return redirect(url_for("second_factor.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        refused = _throttled(form, user, "auth/second_factor.html")
        if refused:
            return refused
        how = two_factor.check_code(user, form.code.data or "")
        if how is not None:
            return redirect(_finish(user, how) or url_for("cancellations.index"))
        record_sign_in(user, "code")
        db.session.commit()
        form.code.errors = ["That code is wrong or was used already. Wait for the next one in your app."]
        return render_template("auth/second_factor.html", form=form), 401
    return render_template("auth/second_factor.html", form=form), 422 if form.errors else 200


@blueprint.route("/enrol", methods=["GET", "POST"])
def enrol() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    user = _pending()
    if user is None:
        return _expired()
    if user.totp_secret is not None:
        return redirect(url_for("second_factor.code"))
    mark = session[PENDING]
    if "secret" not in mark:
        mark["secret"] = two_factor.new_secret()
        session[PENDING] = mark
    secret = mark["secret"]
    context = {"secret": secret, "qr": two_factor.qr_svg(user, secret)}
    form = CodeForm()
    if form.validate_on_submit():
        refused = _throttled(form, user, "auth/enrol.html", **context)
        if refused:
            return refused
        codes = two_factor.enrol(user, secret, form.code.data or "")
        if codes is not None:
            destination = _finish(user, "an authenticator code")
            return render_template("auth/recovery_codes.html", codes=codes, destination=destination)
        record_sign_in(user, "code")
        db.session.commit()
        form.code.errors = ["That code does not match. Check the app shows Farewell and try the newest code."]
        return render_template("auth/enrol.html", form=form, **context), 401
    return render_template("auth/enrol.html", form=form, **context), 422 if form.errors else 200
