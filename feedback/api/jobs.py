"""The API's periodic work: Idempotency-Keys are kept for a day, as Stripe's are, then forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedback.api.idempotency import forget_old_keys
from feedback.jobs import periodic, tally


@periodic("api.forget-idempotency-keys", every=timedelta(hours=1))
def forget_idempotency_keys(now: datetime) -> str:
    """Deletes Idempotency-Keys (and their stored answers) older than 24 hours."""
    return tally(forget_old_keys(now), "idempotency key forgotten", "idempotency keys forgotten")
