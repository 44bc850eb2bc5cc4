"""The surveys' periodic work: links lapse on time, and an unanswered survey gets its one gentle reminder."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedback.jobs import periodic, tally
from feedback.surveys.operations import expire_overdue_invitations, queue_due_reminders


@periodic("surveys.lapse-links", every=timedelta(minutes=1))
def lapse_links(now: datetime) -> str:
    """Marks survey links past SURVEY_LINK_DAYS expired; a review already in then gets its summary."""
    return tally(expire_overdue_invitations(now), "survey link expired", "survey links expired")


@periodic("surveys.queue-reminders", every=timedelta(minutes=1))
def queue_reminders(now: datetime) -> str:
    """Queues one reminder for each survey still unanswered SURVEY_REMINDER_DAYS after its invitation went."""
    return tally(queue_due_reminders(now), "reminder queued", "reminders queued")
