from __future__ import annotations

import math
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from feedback.auth import second_step
from feedback.auth.forms import LoginForm
from feedback.auth.models import User
from feedback.auth.operations import find_staff, record_sign_in
from feedback.auth.throttle import claim_attempt, clear_failures
from feedback.auth.two_factor import needs_second_step
from feedback.db import utcnow
from feedback.extensions import db

blueprint = Blueprint("auth", __name__)


@cache
def unknown_user_hash() -> str:
    """Checked against when no account has the address, so that the answer takes as long as for a wrong password.

    Made at the first such login rather than at import: every process (the worker, each command) imports this.
    """
    return generate_password_hash("no account has this address")


def load_user(session_id: str) -> User | None:
    """The user whose session this is, while the session's generation is still theirs (see User.get_id)."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and generation.isascii() and generation.isdigit()):
        return None  # a session from before generations (or a forged one): log in again
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: `next` must never send someone elsewhere after they log in.

    Browsers drop tabs and line breaks inside URLs and read a backslash as a slash, so "/\t/evil.test" would
    become "//evil.test": a target holding any control character or backslash is refused outright.
    """
    if not target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return None
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(url_for("cancellations.index"))
    form = LoginForm()
    if current_app.config["OIDC_ONLY"]:
        if request.method == "POST":  # the form is not shown; a script posting a password gets nowhere
            record_sign_in(find_staff(request.form.get("email", "")), "oidc_only")
            db.session.commit()
            return render_template("auth/login.html", form=form), 403
        return render_template("auth/login.html", form=form)
    if form.validate_on_submit():
        email = form.email.data or ""
        throttled = claim_attempt(email, request.remote_addr or "")  # committed before any password is checked
        if throttled is not None:
            record_sign_in(find_staff(email), "throttled")
            db.session.commit()
            until = throttled.until
            wait = max(1, math.ceil((until - utcnow()).total_seconds()))
            minutes = math.ceil(wait / 60)
            form.password.errors = [
                f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}"
                f" (after {until:%H:%M:%S} UTC)."
            ]
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = find_staff(email)
        if user is None or user.password_hash is None:
            # No account, or an invited one without a password yet: as slow as a wrong password, so that the
            # answer's timing tells neither apart from an account with one.
            check_password_hash(unknown_user_hash(), form.password.data or "")
            record_sign_in(user, "unknown" if user is None else "no_password")
        elif user.check_password(form.password.data or "") and user.active:
            destination = safe_next(request.args.get("next"))
            if needs_second_step(user):
                db.session.commit()
                return second_step.begin(user, destination)
            session.clear()  # a fresh session on every login: nothing an attacker planted survives it
            login_user(user)
            user.last_login_at = utcnow()
            clear_failures(email)
            record_sign_in(user)
            db.session.commit()
            return redirect(destination or url_for("cancellations.index"))
        else:
            record_sign_in(user, "password" if user.active else "inactive")
        db.session.commit()  # the failure's audit row
        form.password.errors = ["That email and password don't match an active account."]
        return render_template("auth/login.html", form=form), 401
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@blueprint.post("/logout")
@login_required
def logout() -> Response:
    """Ends the session for good: a copy of its cookie replayed later no longer works (nor does any other)."""
    return _end_sessions("You are logged out.")


@blueprint.post("/logout/everywhere")
@login_required
def logout_everywhere() -> Response:
    """For a lost phone or a shared computer: every session of this user, on every device, ends."""
    return _end_sessions("You are logged out on every device.")


def _end_sessions(message: str) -> Response:
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


@blueprint.get("/")
def home() -> Response:
    return redirect(url_for("cancellations.index") if current_user.is_authenticated else url_for("auth.login"))
