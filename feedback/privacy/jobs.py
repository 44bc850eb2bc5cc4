"""Privacy's periodic work, hourly: retention, and discarding uploads never confirmed."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedback.extensions import db
from feedback.imports.runs import expire_unconfirmed
from feedback.jobs import periodic, tally
from feedback.privacy.retention import anonymise_expired


@periodic("privacy.retention", every=timedelta(hours=1))
def retention(now: datetime) -> str:
    """Anonymises every postmortem cancelled more than RETENTION_MONTHS ago (unset: keeps them all), and discards
    every upload checked more than IMPORT_UNCONFIRMED_DAYS ago and never confirmed (its file names customers)."""
    anonymised = anonymise_expired(now)
    discarded = expire_unconfirmed(now)
    db.session.commit()
    report = [
        tally(anonymised, "postmortem anonymised", "postmortems anonymised"),
        tally(discarded, "unconfirmed import discarded", "unconfirmed imports discarded"),
    ]
    return "; ".join(part for part in report if part)
