"""The imports' periodic work: check and import uploaded CSV files, then queue the imported cancellations' mail."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from feedback.extensions import db
from feedback.imports.operations import queue_import_mail
from feedback.imports.runs import work
from feedback.jobs import periodic, tally
from feedback.jobs.runner import worker_name

#: How long one pass may spend queueing imported cancellations' emails, so the worker goes on to deliver mail.
MAIL_BUDGET_SECONDS = 20


@periodic("imports.work", every=timedelta(seconds=5), lease=timedelta(minutes=20))
def process_imports(now: datetime) -> str:
    """Checks uploaded CSV files and imports confirmed ones (all rows or none), then queues their emails."""
    done = work(worker_name())
    queued, began = 0, time.monotonic()
    while time.monotonic() - began < MAIL_BUDGET_SECONDS and (count := queue_import_mail()):
        db.session.commit()
        queued += count
    report = [*done, tally(queued, "imported cancellation's mail queued", "imported cancellations' mail queued")]
    return "; ".join(part for part in report if part)
