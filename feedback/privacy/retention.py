"""Retention: a postmortem older than RETENTION_MONTHS loses its person, the same way as an erasure."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from feedback import audit
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.privacy.erasure import anonymise_cancellation

#: A month, for retention purposes: generous rather than short, so nothing goes early.
MONTH = timedelta(days=31)
#: Cancellations anonymised per commit: each commit keeps its locks short.
BATCH = 50


def retention_cutoff(now: datetime) -> datetime | None:
    """Postmortems cancelled before this are anonymised; None when RETENTION_MONTHS is unset (keep everything)."""
    months = current_app.config.get("RETENTION_MONTHS")
    return None if not months else now - months * MONTH


def anonymise_expired(now: datetime) -> int:
    """Anonymises every postmortem past retention, committing batch by batch; returns how many."""
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    done = 0
    while True:
        batch = db.session.scalars(
            select(Cancellation)
            .where(Cancellation.erased_at.is_(None), Cancellation.cancelled_at < cutoff)
            .order_by(Cancellation.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return done
        for cancellation in batch:
            anonymise_cancellation(cancellation)
            audit.record(
                "cancellation.anonymise",
                cancellation,
                f"Past retention ({current_app.config['RETENTION_MONTHS']} months).",
                by="retention job",
            )
        db.session.commit()
        done += len(batch)
