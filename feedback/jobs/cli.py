"""`flask jobs`: run the due periodic jobs once (cron), keep running them, or see how each one is doing."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.jobs.models import JobRun
from feedback.jobs.registry import registered
from feedback.jobs.runner import JobResult, run_due, worker_name
from feedback.jobs.stopping import StopFlag

jobs = AppGroup("jobs", help="Run the periodic jobs (link expiry, reminders, forgetting old records).")


@jobs.command("run")
def run() -> None:
    """Run every due job once and exit (for cron); exits 1 when a job failed."""
    results = run_due()
    for result in results:
        click.echo(str(result))
    if not results:
        click.echo("No job was due.")
    if any(not result.ok for result in results):
        raise SystemExit(1)


@jobs.command("work")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between looks for due jobs.")
def work(interval: float) -> None:
    """Keep running due jobs until stopped; SIGTERM or Ctrl-C ends it after the current job."""
    stopping = StopFlag().on_signals()
    worker = worker_name()
    click.echo(f"Job runner started ({len(registered())} jobs); checking every {interval:g}s.")
    while not stopping:
        echo_what_happened(run_due(worker=worker, should_stop=lambda: bool(stopping)))
        db.session.remove()
        stopping.wait(interval)
    click.echo("Job runner stopped.")


def echo_what_happened(results: list[JobResult]) -> None:
    """A loop prints the runs that did something or failed; a minute's "nothing to do" would drown the rest."""
    for result in results:
        if result.report or not result.ok:
            click.echo(f"Job {result}.")


@jobs.command("status")
def status() -> None:
    """Show each job: how often it runs, its last run and outcome, when it is next due, and who is running it."""
    rows = {row.name: row for row in db.session.scalars(select(JobRun))}
    now = utcnow()
    known = registered()
    click.echo(f"{len(known)} periodic jobs (times in UTC, now {_at(now)}):")
    for job in known:
        click.echo("")
        click.echo(f"{job.name}, every {_span(job.every)}: {job.description}")
        row = rows.pop(job.name, None)
        if row is None:
            click.echo("  last run   never; it runs at the next pass of a worker")
            continue
        click.echo(f"  last run   {_last_run(row, now)}")
        if row.last_outcome == "failed":
            click.echo(f"  error      {row.last_report}")
        elif row.last_outcome == "ok":
            click.echo(f"  it did     {row.last_report or 'nothing (there was nothing to do)'}")
        when = row.next_due_at
        due = f"in {_span(when - now)}" if when > now else f"now (due {_span(now - when)} ago)"
        click.echo(f"  next due   {_at(when)}, {due}")
        click.echo(f"  held by    {_holder(row, now)}")
    for name in sorted(rows):
        click.echo("")
        click.echo(f"{name}: no longer registered (a job removed or renamed since); its row is harmless.")


def _last_run(row: JobRun, now: datetime) -> str:
    if row.last_started_at is None:
        return "never; due at once"
    started = f"{_at(row.last_started_at)} ({_span(now - row.last_started_at)} ago)"
    if row.last_finished_at is None or row.last_finished_at < row.last_started_at:
        return f"started {started}, not finished yet"
    took = (row.last_finished_at - row.last_started_at).total_seconds()
    return f"{started}, took {took:.1f}s: {'FAILED' if row.last_outcome == 'failed' else 'ok'}"


def _holder(row: JobRun, now: datetime) -> str:
    if row.locked_by is None or row.lease_expires_at is None:
        return "nobody (not running)"
    if row.lease_expires_at > now:
        return f"{row.locked_by}, running it now (lease until {_at(row.lease_expires_at)})"
    lapsed = _at(row.lease_expires_at)
    return f"{row.locked_by}, whose lease ran out at {lapsed}: presumed dead, the next worker takes the job over"


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and (seconds % size == 0 or seconds >= 2 * size):
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
    return f"{seconds}s"
