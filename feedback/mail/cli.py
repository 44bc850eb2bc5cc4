from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.formatting import plural
from feedback.mail.delivery import DeliveryReport, deliver_due
from feedback.mail.models import STATUSES, OutboxMessage
from feedback.mail.outbox import resend_failed

outbox = AppGroup("outbox", help="Deliver queued email.")

BATCH = 100


@dataclass
class PassReport(DeliveryReport):
    """What one pass of the worker did, as `flask outbox send` and `work` print it."""

    @property
    def busy(self) -> bool:
        return bool(self.handled)


def run_once(
    now: datetime | None = None, batch: int = BATCH, should_stop: Callable[[], bool] | None = None
) -> PassReport:
    """One pass: send what is due, batch after batch, until nothing is (or a stop is asked for).

    Delivery only: expiring links, reminders and forgetting old records are periodic jobs (`flask jobs`).
    """
    report = PassReport()
    while not (should_stop and should_stop()):
        delivered = deliver_due(limit=batch, now=now, should_stop=should_stop)
        report.add(delivered)
        if delivered.handled < batch:
            break
    return report


batch_option = click.option(
    "--batch-size", default=BATCH, show_default=True, help="Messages claimed, and sent over one connection, at a time."
)


@outbox.command("send")
@batch_option
def send(batch_size: int) -> None:
    """Send every message that is due, once, and exit."""
    report = run_once(batch=batch_size)
    click.echo(f"Outbox: {report}.")
    if report.warning:
        click.echo(report.warning, err=True)


@outbox.command("work")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes when idle.")
@batch_option
def work(interval: float, batch_size: int) -> None:
    """Keep sending until stopped; SIGTERM or Ctrl-C ends it after the current message."""
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"Outbox worker started; checking every {interval:g}s.")
    while not stopping:
        report = run_once(batch=batch_size, should_stop=lambda: stopping)
        if report.busy:
            click.echo(f"Outbox: {report}.")
        if report.warning:
            click.echo(report.warning, err=True)
        db.session.remove()
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, interval))
    click.echo("Outbox worker stopped.")


@outbox.command("resend")
@click.option("--failed", "all_failed", is_flag=True, required=True, help="Queue every failed message again.")
def resend(all_failed: bool) -> None:
    """Queue failed messages again, whole, with their attempts counted from zero (after an outage, say)."""
    resent, kept = resend_failed()
    db.session.commit()
    click.echo(
        f"Queued {plural(resent, 'failed message', 'failed messages')} again."
        + (f" Not resent (opted out since): {kept}." if kept else "")
    )


@outbox.command("status")
def status() -> None:
    """Count messages by state; say how long the oldest due message has waited, and show the latest failures."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    click.echo(", ".join(f"{name} {counts.get(name, 0)}" for name in STATUSES))
    now = utcnow()
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == "queued", OutboxMessage.due_at <= now)
    )
    if oldest is not None:
        click.echo(f"Oldest due message has waited {_duration(now - oldest)}.")
    claimed = db.session.scalar(
        select(func.count()).where(OutboxMessage.status == "queued", OutboxMessage.lease_expires_at > now)
    )
    if claimed:
        click.echo(f"Being sent by a worker now: {claimed}.")
    failures = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == "failed").order_by(OutboxMessage.failed_at.desc()).limit(5)
    ).all()
    if failures:
        click.echo("Latest failures (resend them from the email log):")
        for message in failures:
            click.echo(f"  #{message.id} {message.kind} to {message.recipient}: {message.last_error}")


def _duration(delta: object) -> str:
    seconds = int(delta.total_seconds())  # type: ignore[attr-defined]
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
