from __future__ import annotations

from feedback.auth.models import ROLES, User
from feedback.cancellations.operations import find_staff, normalize_email
from feedback.extensions import db

MIN_PASSWORD_LENGTH = 10


class InvalidUser(ValueError):
    pass


def password_problem(password: str, email: str) -> str | None:
    """Why a password won't do, in words a person can act on; None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if password.strip().lower() == email.strip().lower():
        return "The password must not be the email address."
    return None


def create_user(email: str, name: str, role: str, password: str | None, commit: bool = True) -> User:
    """A staff account; `commit=False` lets a caller add more to the same transaction (an invitation email)."""
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
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return user
