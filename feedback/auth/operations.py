from __future__ import annotations

from sqlalchemy import func, select

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
