"""Password reset by email: a signed link with its own salt, valid for an hour, usable once."""

from __future__ import annotations

import hashlib

from flask import current_app

from feedback import audit
from feedback.auth.models import User
from feedback.auth.operations import InvalidUser, find_staff, password_problem
from feedback.extensions import db
from feedback.mail.outbox import enqueue
from feedback.signing import check, sign
from feedback.urls import external_url

RESET_SALT = "password-reset"
RESET_MAX_AGE = 3600


def _fingerprint(user: User) -> str:
    """Changes when the password does, so a link stops working once it (or any other way) set a new one."""
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def request_reset(email: str) -> None:
    """Queues the link for an active account with this address; does nothing otherwise, and says nothing."""
    user = find_staff(email)
    if user is None or not user.active or user.password_hash is None:
        return  # an invited account without a password has its invitation link for that
    token = sign([user.id, _fingerprint(user)], RESET_SALT)
    enqueue(
        "password_reset",
        to=user.email,
        to_name=user.name,
        subject="Reset your Farewell password",
        template="password_reset",
        reset_url=external_url("password_reset.choose", token=token),
        user=user,
        company=current_app.config["COMPANY_NAME"],
    )
    audit.record("staff.password_reset_requested", user, actor=user)


def check_reset(token: str) -> tuple[str, User | None]:
    """ok, expired, used or invalid, and whose link it is."""
    result = check(token, RESET_SALT, max_age=RESET_MAX_AGE)
    data = result.data
    if result.invalid or not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int)):
        return "invalid", None
    user = db.session.get(User, data[0])
    if user is None or not user.active:
        return "invalid", None
    if data[1] != _fingerprint(user):
        return "used", user
    if result.expired:
        return "expired", user
    return "ok", user


def reset_password(user: User, password: str) -> None:
    """Sets the new password; `User.set_password` ends every session the old one opened."""
    problem = password_problem(password, user.email)
    if problem:
        raise InvalidUser(problem)
    user.set_password(password)
    audit.record("staff.password_reset", user, actor=user)
    db.session.flush()
