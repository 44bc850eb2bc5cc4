from __future__ import annotations

import math
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from feedback.auth.forms import LoginForm
from feedback.auth.models import User
from feedback.auth.operations import find_staff
from feedback.auth.throttle import clear_failures, locked_until, record_failure
from feedback.db import utcnow
from feedback.extensions import db

blueprint = Blueprint("auth", __name__)


@cache
def unknown_user_hash() -> str:
    """Checked against when no account has the address, so that the answer takes as long as for a wrong password.

    Made at the first such login rather than at import: every process (the worker, each command) imports this.
    """
    return generate_password_hash("no account has this address")


def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isascii() and user_id.isdigit() else None
    return user if user is not None and user.active else None


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
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("cancellations.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        until = locked_until(email)
        if until is not None:
            minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
            form.password.errors = [
                f"Too many failed attempts for this address. Try again in {minutes} minute{'s' if minutes != 1 else ''}"
                f" (after {until:%H:%M} UTC)."
            ]
            return render_template("auth/login.html", form=form), 429
        user = find_staff(email)
        if user is None:
            check_password_hash(unknown_user_hash(), form.password.data or "")  # as slow as a wrong password
        elif user.check_password(form.password.data or "") and user.active:
            destination = safe_next(request.args.get("next"))
            session.clear()  # a fresh session on every login: nothing an attacker planted survives it
            login_user(user)
            user.last_login_at = utcnow()
            clear_failures(email)
            db.session.commit()
            return redirect(destination or url_for("cancellations.index"))
        record_failure(email)
        form.password.errors = ["That email and password don't match an active account."]
        return render_template("auth/login.html", form=form), 401
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@blueprint.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.get("/")
def home() -> Response:
    return redirect(url_for("cancellations.index") if current_user.is_authenticated else url_for("auth.login"))
