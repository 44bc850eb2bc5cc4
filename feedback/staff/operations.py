"""Staff accounts: invitations to set a password, deactivation, and handing over a departed owner's work."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from feedback import audit
from feedback.actions.operations import hand_over_items
from feedback.auth.models import ROLES, User
from feedback.auth.operations import InvalidUser, create_user, password_problem
from feedback.extensions import db
from feedback.formatting import plural
from feedback.mail.headers import shortened
from feedback.mail.outbox import enqueue
from feedback.postmortem.models import Cancellation
from feedback.reviews.operations import queue_review_request
from feedback.settings.operations import current_settings
from feedback.signing import check, sign
from feedback.urls import external_url

INVITE_SALT = "staff-invitation"
INVITE_DAYS = 7


def _fingerprint(user: User) -> str:
    """Changes when the password is set, which is what makes an invitation link single-use."""
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def invite_staff(email: str, name: str, role: str, invited_by: User) -> User:
    """Creates the account without a password and queues the email with its set-password link."""
    user = create_user(email, name, role, None)
    queue_invitation(user, invited_by)  # committed together with the account by the caller, or neither
    audit.record("staff.invite", user, f"Invited {user.email} as {user.role}.", actor=invited_by)
    return user


def queue_invitation(user: User, invited_by: User) -> None:
    token = sign([user.id, _fingerprint(user)], INVITE_SALT)
    enqueue(
        "staff_invitation",
        to=user.email,
        to_name=user.name,
        subject=f"{shortened(invited_by.name)} invited you to Farewell at {shortened(current_settings().company_name)}",
        template="staff_invitation",
        invite_url=external_url("staff.accept", token=token),
        user=user,
        invited_by=invited_by,
        company=current_settings().company_name,
        days=INVITE_DAYS,
    )


@dataclass(frozen=True)
class InviteCheck:
    """`state` is ok, expired, used, deactivated or invalid; `user` is set except when invalid."""

    state: str
    user: User | None = None


def check_invitation(token: str) -> InviteCheck:
    result = check(token, INVITE_SALT, max_age=INVITE_DAYS * 86400)
    data = result.data
    if result.invalid or not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int)):
        return InviteCheck("invalid")
    user = db.session.get(User, data[0])
    if user is None:
        return InviteCheck("invalid")
    if not user.active:
        return InviteCheck("deactivated", user)
    if data[1] != _fingerprint(user):
        return InviteCheck("used", user)
    if result.expired:
        return InviteCheck("expired", user)
    return InviteCheck("ok", user)


def accept_invitation(user: User, password: str) -> None:
    problem = password_problem(password, user.email)
    if problem:
        raise InvalidUser(problem)
    user.set_password(password)
    db.session.flush()


def set_active(user: User, active: bool, acting: User | None) -> None:
    """Deactivation takes effect on the user's next request: every request reloads the user and checks `active`.

    It also ends their sessions, so that reactivating the account later does not bring an old cookie back to life.
    `acting` is None for `flask users deactivate` (the trail says "command line").
    """
    if acting is not None and user.id == acting.id and not active:
        raise InvalidUser("You cannot deactivate your own account; ask another admin.")
    if not active and user.is_admin and _other_active_admins(user) == 0:
        raise InvalidUser("That is the last active admin; make someone else an admin first.")
    if user.active and not active:
        user.end_sessions()
    user.active = active
    db.session.flush()
    audit.record("staff.activate" if active else "staff.deactivate", user, f"{user.email}.", actor=acting)


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active, User.id != user.id)
        )
        or 0
    )


def change_role(user: User, role: str, acting: User) -> None:
    """Makes a colleague an admin or an account owner; Farewell always keeps one active admin."""
    if role not in ROLES:
        raise InvalidUser(f"The role must be one of: {', '.join(ROLES)}.")
    if role == user.role:
        return
    if user.is_admin and _other_active_admins(user) == 0:
        raise InvalidUser("That is the last active admin; make someone else an admin first.")
    before, user.role = user.role, role
    db.session.flush()
    audit.record("staff.role", user, f"{user.email}: {before} → {role}.", actor=acting)


def open_cancellations(user: User) -> list[Cancellation]:
    """Cancellations still waiting for the owner: no summary yet."""
    query = select(Cancellation).where(Cancellation.owner_id == user.id, Cancellation.state != "summarized")
    return list(db.session.scalars(query.order_by(Cancellation.cancelled_at)).all())


@dataclass(frozen=True)
class HandedOver:
    """What a hand-over moved: open cancellations (their reviews asked of the new owner) and open action items."""

    cancellations: int
    action_items: int


def hand_over_open_work(from_user: User, to_user: User, acting: User) -> HandedOver:
    """Hands a deactivated owner's unfinished work to an active colleague: the cancellations still waiting for a
    summary, whose missing reviews the colleague is asked for, and every open action item, wherever it sits (most
    are on finished postmortems; left with someone who has gone, no one would be reminded of them)."""
    if from_user.active:
        raise InvalidUser("Only a deactivated staff member's work can be reassigned.")
    if not to_user.active or to_user.id == from_user.id:
        raise InvalidUser("Choose an active staff member to take it over.")
    moved = open_cancellations(from_user)
    for cancellation in moved:
        cancellation.owner = to_user
        cancellation.record("reassigned", f"{acting.name} reassigned it from {from_user.name} to {to_user.name}.")
        if cancellation.review is None and not cancellation.needs_contact:  # else it goes once contact is added
            queue_review_request(cancellation)
    items = hand_over_items(from_user, to_user, by=acting)
    db.session.flush()
    audit.record(
        "staff.reassign",
        from_user,
        f"{plural(len(moved), 'open cancellation', 'open cancellations')} and "
        f"{plural(items, 'open action item', 'open action items')} to {to_user.email}.",
        actor=acting,
    )
    return HandedOver(len(moved), items)
