"""Privacy's periodic work: retention, hourly."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedback.jobs import periodic, tally
from feedback.privacy.retention import anonymise_expired


@periodic("privacy.retention", every=timedelta(hours=1))
def retention(now: datetime) -> str:
    """Anonymises every postmortem cancelled more than RETENTION_MONTHS ago (unset: keeps them all)."""
    return tally(anonymise_expired(now), "postmortem anonymised", "postmortems anonymised")
