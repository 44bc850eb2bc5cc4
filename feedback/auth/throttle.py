"""Login throttling: after repeated failures for one address, wait a while before trying again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from feedback.auth.models import LoginFailure
from feedback.db import utcnow
from feedback.extensions import db

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def locked_until(email: str, now: datetime | None = None) -> datetime | None:
    """When this address may try again, or None if it may try now."""
    now = now or utcnow()
    recent = db.session.scalars(
        select(LoginFailure.at)
        .where(LoginFailure.email == email.strip().lower(), LoginFailure.at > now - WINDOW)
        .order_by(LoginFailure.at.desc())
        .limit(MAX_FAILURES)
    ).all()
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-1] + WINDOW


def record_failure(email: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    db.session.add(LoginFailure(email=email.strip().lower()[:254], at=now))
    db.session.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))  # keep the table small
    db.session.commit()


def clear_failures(email: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email.strip().lower()))
