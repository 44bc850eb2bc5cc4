"""Password reset by email: a signed link with its own salt, valid for an hour, usable once."""

from __future__ import annotations

import hashlib

from feedback import audit
from feedback.auth.models import User
from feedback.auth.operations import InvalidUser, find_staff, password_problem
from feedback.extensions import db
from feedback.mail.hooks import company_name
from feedback.mail.outbox import compose, store
from feedback.signing import check, sign
from feedback.urls import external_url

RESET_SALT = "password-reset"
RESET_MAX_AGE = 3600
#: The address a reset for no one is composed to (`.invalid` is reserved: no mail can ever reach it).
STAND_IN_ADDRESS = "nobody@farewell.invalid"


def _fingerprint(user: User) -> str:
    """Changes when the password does, so a link stops working once it (or any other way) set a new one."""
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def request_reset(email: str) -> None:
    """Queues the link for an active account with this address; does nothing otherwise, and says nothing.

    Nor does the time it takes say anything: for an address without an account (or an invited one without a
    password, which has its invitation link for that) the same link is signed and the same email rendered, for a
    stand-in, and then dropped. Only the rows written differ, the outbox's and the audit trail's.
    """
    user = find_staff(email)
    resettable = user is not None and user.active and user.password_hash is not None
    account = user if resettable and user is not None else _stand_in()
    token = sign([account.id, _fingerprint(account)], RESET_SALT)
    message = compose(
        "password_reset",
        to=account.email,
        to_name=account.name,
        subject="Reset your Farewell password",
        template="password_reset",
        reset_url=external_url("password_reset.choose", token=token),
        user=account,
        company=company_name(),  # the name saved in Admin → Settings, as every other email signs
    )
    if account is user:
        store(message)
        audit.record("staff.password_reset_requested", user, actor=user)


def _stand_in() -> User:
    """Who a reset for no one is composed for; never added to the session, and its link would fit no account."""
    return User(id=0, email=STAND_IN_ADDRESS, name="Someone", password_hash="unset")  # noqa: S106 - not a password: a placeholder hash no password matches


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
