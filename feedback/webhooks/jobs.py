"""The webhooks' periodic work: event ids are remembered for 30 days, long after senders stop retrying."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedback.jobs import periodic, tally
from feedback.webhooks.operations import forget_old_event_ids


@periodic("webhooks.forget-event-ids", every=timedelta(hours=1))
def forget_event_ids(now: datetime) -> str:
    """Deletes the ids of webhook deliveries (Stripe's and Standard Webhooks') received over 30 days ago."""
    return tally(forget_old_event_ids(now), "webhook event id forgotten", "webhook event ids forgotten")
