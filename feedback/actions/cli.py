"""`flask actions remind` and `flask actions digest`: the periodic jobs run once, by hand or from cron.

The scheduler (feedback.jobs) runs them on its own once it lands; until then these are how they run.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from feedback.actions.jobs import remind_due_items, send_weekly_digests
from feedback.db import utcnow

actions = AppGroup("actions", help="Action items' reminders and weekly digests.")


@actions.command("remind")
def remind() -> None:
    """Queues the reminders now due (two days before, and once overdue); each goes once."""
    click.echo(remind_due_items(utcnow()) or "no reminders due")


@actions.command("digest")
def digest() -> None:
    """Queues this week's digests from Monday 07:00 UTC; each person gets one a week."""
    click.echo(send_weekly_digests(utcnow()) or "no digests due")
