"""`flask worker`: one process that delivers mail and runs the periodic jobs, for a Procfile's one worker line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from feedback.extensions import db
from feedback.jobs.cli import echo_what_happened
from feedback.jobs.registry import registered
from feedback.jobs.runner import run_due, worker_name
from feedback.jobs.stopping import StopFlag
from feedback.mail.cli import BATCH, batch_option, run_once


@click.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes when idle.")
@batch_option
@with_appcontext
def worker(interval: float, batch_size: int) -> None:
    """Deliver mail and run due jobs until stopped; SIGTERM or Ctrl-C ends it after the current message or job."""
    stopping = StopFlag().on_signals()
    name = worker_name()
    click.echo(
        f"Worker started: delivering mail and running {len(registered())} periodic jobs; checking every {interval:g}s."
    )
    while not stopping:
        work_once(name, batch_size, stopping)
        db.session.remove()
        stopping.wait(interval)
    click.echo("Worker stopped.")


def work_once(name: str, batch_size: int = BATCH, stopping: StopFlag | None = None) -> None:
    """Jobs first, so that what they queue (a reminder, a summary) goes out in the same pass."""
    stopping = stopping or StopFlag()
    echo_what_happened(run_due(worker=name, should_stop=lambda: bool(stopping)))
    if stopping:
        return
    report = run_once(batch=batch_size, should_stop=lambda: bool(stopping))
    if report.busy:
        click.echo(f"Outbox: {report}.")
