"""The `helpdesk.fetch` job: the due fetches, each committed on its own so one slow help desk holds no other."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from feedback.extensions import db
from feedback.helpdesk.operations import due_fetches, run_fetch
from feedback.jobs import periodic, tally

log = logging.getLogger(__name__)

#: Fetches per run: each is bounded by its client's time budget, so a run stays well inside the job's lease.
PER_RUN = 5


@periodic("helpdesk.fetch", every=timedelta(seconds=30), lease=timedelta(minutes=20))
def fetch_conversations(now: datetime) -> str:
    """Reads cancelled customers' help-desk conversations, retrying with back-off for up to a day."""
    done = 0
    for fetch in due_fetches(now, PER_RUN):
        outcome = run_fetch(fetch, now)
        db.session.commit()
        log.info("Help-desk fetch %s for cancellation %s: %s", fetch.id, fetch.cancellation_id, outcome)
        done += 1
    return tally(done, "help-desk fetch run", "help-desk fetches run")
