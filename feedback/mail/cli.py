from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.delivery import DeliveryReport, deliver_due
from feedback.mail.models import STATUSES, OutboxMessage

outbox = AppGroup("outbox", help="Deliver queued email.")

BATCH = 100


@dataclass
class PassReport(DeliveryReport):
    """What one pass of the worker did, as `flask outbox send` and `work` print it."""

    reminders: int = 0
    expired: int = 0
    #: Idempotency keys and webhook event ids old enough to be forgotten.
    forgotten: int = 0

    def __str__(self) -> str:
        extras = [f"{self.reminders} reminder(s) queued"] if self.reminders else []
        extras += [f"{self.expired} survey link(s) expired"] if self.expired else []
        extras += [f"{self.forgotten} old idempotency key(s) and webhook id(s) forgotten"] if self.forgotten else []
        return super().__str__() + (f" ({', '.join(extras)})" if extras else "")

    @property
    def busy(self) -> bool:
        return bool(self.handled or self.reminders or self.expired or self.forgotten)


def run_once(
    now: datetime | None = None, batch: int = BATCH, should_stop: Callable[[], bool] | None = None
) -> PassReport:
    """One pass: lapse overdue survey links (which may queue summaries), queue due reminders, send what is due.

    At most once an hour it also forgets old idempotency keys and webhook ids: the worker is the one process
    that always runs, and nothing else would ever delete them.
    """
    from feedback.surveys.operations import expire_overdue_invitations, queue_due_reminders

    report = PassReport(expired=expire_overdue_invitations(now), reminders=queue_due_reminders(now))
    report.forgotten = forget_old_records(now or utcnow())
    while not (should_stop and should_stop()):
        delivered = deliver_due(limit=batch, now=now, should_stop=should_stop)
        report.add(delivered)
        if delivered.handled < batch:
            break
    return report


def forget_old_records(now: datetime) -> int:
    """At most once an hour per running app (its first pass included), whatever `now` the pass was given."""
    from flask import current_app

    from feedback.api.idempotency import forget_old_keys
    from feedback.webhooks.operations import forget_old_event_ids

    last = current_app.extensions.get("farewell.forgotten_at")
    if last is not None and abs(now - last) < timedelta(hours=1):
        return 0
    forgotten = forget_old_keys(now) + forget_old_event_ids(now)
    db.session.commit()
    current_app.extensions["farewell.forgotten_at"] = now
    return forgotten


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
    from feedback.mail.outbox import resend_failed

    resent, kept = resend_failed()
    click.echo(
        f"Queued {resent} failed message(s) again." + (f" Not resent (opted out since): {kept}." if kept else "")
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
