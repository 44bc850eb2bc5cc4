"""Login throttling: every attempt is recorded before its password is looked at, per address and per client.

A few attempts are free; after them each one waits longer since the one before (30 s, 1 min, 2 min … up to
15 min), so guessing stays slow while the real user, whose attempts are throttled the same way, never waits
longer than the last delay. An attempt that was turned away is not kept, so a flood of them extends nothing.

Atomic without locks: the attempt's row is committed first, then counted with every other visible one. Of many
attempts at the same moment, the last to count sees all the others, so no more than the free ones get checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select

from feedback.auth.models import LoginFailure
from feedback.db import utcnow
from feedback.extensions import db

#: Attempts for one address, or from one client address, checked without waiting within the window.
ACCOUNT_FREE = 5
CLIENT_FREE = 20
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(minutes=15)
#: Attempts older than this are forgotten; longer than the longest delay, so the delays can grow to it.
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Throttled:
    """The attempt was not checked; `until` is when the next one may be."""

    until: datetime


def delay_after(attempts: int, free: int) -> timedelta:
    """How long after the last attempt the next one must wait, when `attempts` were made in the window."""
    if attempts < free:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** (attempts - free), LONGEST_DELAY)


def claim_attempt(email: str, client: str, now: datetime | None = None) -> Throttled | None:
    """Records a login attempt and commits it; None when its password may be checked, else how long to wait."""
    now = now or utcnow()
    email = email.strip().lower()[:254]
    client = client[:64]
    db.session.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))  # keep the table small
    attempt = LoginFailure(email=email, client_address=client, at=now)
    db.session.add(attempt)
    db.session.commit()
    until = max(
        _allowed_from(LoginFailure.email == email, ACCOUNT_FREE, attempt, now),
        _allowed_from(LoginFailure.client_address == client, CLIENT_FREE, attempt, now),
    )
    if until <= now:
        return None
    db.session.delete(attempt)  # turned away: it must not make the next wait longer
    db.session.commit()
    return Throttled(until)


def _allowed_from(whose: ColumnElement[bool], free: int, attempt: LoginFailure, now: datetime) -> datetime:
    others = db.session.scalars(
        select(LoginFailure.at).where(whose, LoginFailure.id != attempt.id, LoginFailure.at > now - WINDOW)
    ).all()
    if len(others) < free:
        return now
    return max(others) + delay_after(len(others), free)


def clear_failures(email: str) -> None:
    """After a successful login: that address starts afresh (its attempts count no longer for their clients)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email.strip().lower()))
