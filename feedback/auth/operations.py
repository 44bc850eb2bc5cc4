from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import request
from sqlalchemy import func, select

from feedback import audit
from feedback.audit.models import AuditEvent
from feedback.auth.models import ROLES, User
from feedback.extensions import db
from feedback.inputs.fields import normalize_email

MIN_PASSWORD_LENGTH = 10


class InvalidUser(ValueError):
    pass


def find_staff(email: str) -> User | None:
    """The staff member with this address, whatever its case."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def password_problem(password: str, email: str) -> str | None:
    """Why a password won't do, in words a person can act on; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if password.strip().lower() == email.strip().lower():
        return "The password must not be the email address."
    return None


def create_user(email: str, name: str, role: str, password: str | None) -> User:
    """A staff account, with a password or (for an invitation) without one yet."""
    try:
        email = normalize_email(email)
    except ValueError as error:
        raise InvalidUser(f"That email address is not valid: {error}") from None
    name = " ".join(name.split())
    if not name:
        raise InvalidUser("A name is required.")
    if role not in ROLES:
        raise InvalidUser(f"The role must be one of: {', '.join(ROLES)}.")
    if find_staff(email) is not None:
        raise InvalidUser(f"A staff member with the address {email} already exists.")
    user = User(email=email, name=name, role=role)
    if password is not None:
        problem = password_problem(password, email)
        if problem:
            raise InvalidUser(problem)
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def admin_addresses() -> list[tuple[str, str]]:
    """(email, name) of every active admin: whom Farewell tells when something needs an admin (a dead webhook)."""
    admins = select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    return [(user.email, user.name) for user in db.session.scalars(admins)]


#: Why a sign-in failed, as the audit trail says it (the page itself says only that they don't match).
SIGN_IN_FAILURES = {
    "password": "Wrong password.",
    "inactive": "The account is deactivated.",
    "no_password": "The account has no password yet (invitation not accepted).",
    "unknown": "No staff member has this address.",
    "throttled": "Refused unchecked: too many failed attempts.",
    "code": "Right password, wrong or reused second-factor code.",
    "sso": "Single sign-on refused.",
    "oidc_only": "Password refused: OIDC_ONLY is on.",
}


#: How each sign-in's detail begins; `last_sign_ins` reads the "how" back from it.
SIGNED_IN_WITH = "Signed in with "


def record_sign_in(user: User | None, failure: str | None = None, how: str = "a password") -> None:
    """Every sign-in, and every failed one, into the audit trail with the client's address (the trail's own
    column) and browser. A failure's actor is "anonymous": whoever typed it is not known to be the account's owner.
    An address that is no staff member's is not written down (it may be a password typed in the wrong field)."""
    browser = "".join(ch for ch in request.user_agent.string if ch.isprintable())[:300] or "none given"
    if failure is None:
        audit.record("staff.sign_in", user, f"{SIGNED_IN_WITH}{how}. Browser: {browser}.", actor=user)
    else:
        audit.record("staff.sign_in_failed", user, f"{SIGN_IN_FAILURES[failure]} Browser: {browser}.")


@dataclass(frozen=True)
class LastSignIn:
    at: datetime
    how: str
    address: str


def last_sign_ins() -> dict[int, LastSignIn]:
    """{user id: their latest sign-in}, read from the audit trail, which records every one (for Admin → Staff)."""
    latest = (
        select(func.max(AuditEvent.id))
        .where(AuditEvent.action == "staff.sign_in", AuditEvent.actor_id.is_not(None))
        .group_by(AuditEvent.actor_id)
    )
    found: dict[int, LastSignIn] = {}
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(latest))):
        how = event.detail.removeprefix(SIGNED_IN_WITH).split(". Browser:")[0] if event.detail else ""
        assert event.actor_id is not None
        found[event.actor_id] = LastSignIn(event.at, how, event.client_address)
    return found
