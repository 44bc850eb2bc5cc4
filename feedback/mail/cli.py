from __future__ import annotations

import signal
import time
from datetime import datetime
from types import FrameType

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.mail.delivery import DeliveryReport, deliver_due
from feedback.mail.models import STATUSES, OutboxMessage

outbox = AppGroup("outbox", help="Deliver queued email.")

BATCH = 200


def run_once(now: datetime | None = None) -> DeliveryReport:
    """One pass: lapse overdue survey links (which may queue summaries), then send everything due."""
    from feedback.surveys.operations import expire_overdue_invitations

    expire_overdue_invitations(now)
    total = DeliveryReport()
    while True:
        report = deliver_due(limit=BATCH, now=now)
        total.sent += report.sent
        total.retrying += report.retrying
        total.failed += report.failed
        if report.sent + report.retrying + report.failed < BATCH:
            return total


@outbox.command("send")
def send() -> None:
    """Send every message that is due, once, and exit."""
    click.echo(f"Outbox: {run_once()}.")


@outbox.command("work")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes when idle.")
def work(interval: float) -> None:
    """Keep sending until stopped; SIGTERM or Ctrl-C ends it after the current pass."""
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"Outbox worker started; checking every {interval:g}s.")
    while not stopping:
        report = run_once()
        if report.sent or report.retrying or report.failed:
            click.echo(f"Outbox: {report}.")
        db.session.remove()
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
    click.echo("Outbox worker stopped.")


@outbox.command("status")
def status() -> None:
    """Count messages by state."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    click.echo(", ".join(f"{name} {counts.get(name, 0)}" for name in STATUSES))
