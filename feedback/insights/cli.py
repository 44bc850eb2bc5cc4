"""`flask insights digest`: queue last week's digest by hand, or from cron until the scheduler runs it."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from feedback.db import utcnow
from feedback.insights.jobs import weekly_digest


@click.group("insights")
def insights() -> None:
    """What every postmortem says together."""


@insights.command("digest")
@with_appcontext
def digest() -> None:
    """Queue last week's digest for everyone who wants it (each person gets each week's digest once)."""
    click.echo(weekly_digest(utcnow()))
