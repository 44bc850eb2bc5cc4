"""The weekly digest: last week's losses, by email, to everyone who wants it, once per person and week."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from feedback.auth.models import User
from feedback.extensions import db
from feedback.formatting import format_money
from feedback.insights.filters import Filter
from feedback.insights.operations import queue_digest, wants_digest
from feedback.insights.queries import report
from feedback.insights.takeaways import percent
from feedback.jobs import periodic, tally
from feedback.settings.operations import current_settings
from feedback.urls import external_url


def last_week(now: datetime) -> Filter:
    """Monday to Sunday (UTC) of the last whole week before `now`."""
    monday = now.date() - timedelta(days=now.weekday() + 7)
    return Filter(since=monday, until=monday + timedelta(days=6))


@periodic("insights.cancellations-digest", every=timedelta(hours=1))
def weekly_digest(now: datetime) -> str:
    """Emails last week's cancellations, MRR lost and top reasons to each staff member who wants them; once a week.

    Hourly, so a new week goes out soon after Monday begins.

    The unique (user, week) key in digests_sent makes a second run, or a second worker, queue nothing new.
    Commits person by person, as periodic jobs do, so one bad address cannot hold back the others.
    """
    week = last_week(now)
    people = [
        user for user in db.session.scalars(select(User).where(User.active).order_by(User.id)) if wants_digest(user)
    ]
    if not people:
        return ""
    numbers = report(db.session.connection(), week)
    db.session.commit()  # the report's temporary table is gone; nothing else was written
    subject = _subject(numbers.totals["cancellations"], numbers.totals["mrr_lost"], week.since)
    context = {
        "week": week,
        "totals": numbers.totals,
        "previous": numbers.previous,
        "reasons": numbers.reasons[:3],
        "avoidable": next((share for share in numbers.avoidable if share.label == "Yes"), None),
        "insights_url": external_url("insights.index", **week.query_args()),
        "settings_url": external_url("insights.index") + "#digest",
        "company": current_settings().company_name,
        "percent": percent,
    }
    queued = 0
    for person in people:
        if queue_digest(person, week.since, subject, **context):
            queued += 1
        db.session.commit()
    report_words = tally(queued, "digest queued", "digests queued")
    return f"{report_words} for the week of {week.since.isoformat()}" if report_words else ""


def _subject(cancellations: int, mrr_lost: object, monday: date) -> str:
    if not cancellations:
        return f"Week of {monday:%-d %b}: no cancellations"
    money = format_money(mrr_lost, current_settings().currency)  # type: ignore[arg-type]
    noun = "cancellation" if cancellations == 1 else "cancellations"
    return f"Week of {monday:%-d %b}: {cancellations} {noun}, {money} MRR lost"
