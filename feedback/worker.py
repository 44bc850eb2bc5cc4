"""`flask worker`: one process that delivers mail and webhooks and runs the periodic jobs: a Procfile's one line.

It keeps three lanes, each a thread with its own app context and database session, sharing nothing but the
database: mail delivery, outbound webhooks, and the jobs. A long job (a 100,000-row import, a slow help-desk fetch)
or a webhook receiver at its timeout therefore never holds back an invitation or a password reset by more than one
delivery pass; before, everything ran in one loop and every message waited for the slowest step. The main thread
only waits for a stop (SIGTERM, Ctrl-C), which each lane honours after its current message, delivery or job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from feedback.events.delivery import deliver_all
from feedback.extensions import db
from feedback.jobs.cli import echo_what_happened
from feedback.jobs.registry import registered
from feedback.jobs.runner import run_due, worker_name
from feedback.jobs.stopping import StopFlag
from feedback.mail.cli import BATCH, batch_option, run_once
from feedback.mail.delivery import DatabaseWorkFailed

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes when idle.")
@batch_option
@with_appcontext
def worker(interval: float, batch_size: int) -> None:
    """Deliver mail and run due jobs, each in its own lane, until stopped; SIGTERM or Ctrl-C ends every lane after
    the current message or job."""
    stopping = StopFlag().on_signals()
    name = worker_name()
    click.echo(
        f"Worker started: delivering mail and running {len(registered())} periodic jobs; checking every {interval:g}s."
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lanes = [
        Lane("mail", lambda: mail_pass(batch_size, stopping), app, stopping, interval),
        Lane("webhooks", lambda: webhooks_pass(stopping), app, stopping, interval),
        Lane("jobs", lambda: jobs_pass(name, stopping), app, stopping, interval),
    ]
    for lane in lanes:
        lane.start()
    while any(lane.is_alive() for lane in lanes):
        for lane in lanes:
            lane.join(0.2)  # short waits, so the main thread takes a signal at once
    click.echo("Worker stopped.")
    for lane in lanes:
        if lane.error is not None:
            raise lane.error  # as when one loop ran both: the worker exits with the error, and is restarted


class Lane(threading.Thread):
    """A loop of passes in its own app context (so its own database session), until the stop flag is raised.

    A lane that fails raises the flag too: the other stops after its current step, and the worker exits with the
    error rather than running on half-alive.
    """

    def __init__(
        self, name: str, one_pass: Callable[[], None], app: Flask, stopping: StopFlag, interval: float
    ) -> None:
        super().__init__(name=f"worker-{name}", daemon=True)
        self.one_pass = one_pass
        self.app = app
        self.stopping = stopping
        self.interval = interval
        self.error: BaseException | None = None

    def run(self) -> None:
        with self.app.app_context():
            try:
                while not self.stopping:
                    try:
                        self.one_pass()
                    finally:
                        db.session.remove()
                    self.stopping.wait(self.interval)
            except BaseException as error:
                self.error = error
                self.stopping.stop()


def mail_pass(batch_size: int, stopping: StopFlag) -> None:
    """Sends what is due; a database that is busy or away for a moment costs this pass only, not the worker.

    On SQLite a job's long write transaction can hold the database past its busy timeout: the claim then fails,
    and the next pass tries again. What the pass had claimed comes back when its lease ends, as after a crash.
    """
    try:
        report = run_once(batch=batch_size, should_stop=lambda: bool(stopping))
    except (OperationalError, DatabaseWorkFailed) as error:
        log.warning("Outbox pass failed on the database (%s); the next pass tries again.", type(error).__name__)
        return
    if report.busy:
        click.echo(f"Outbox: {report}.")
    if report.warning:
        click.echo(report.warning, err=True)


def webhooks_pass(stopping: StopFlag) -> None:
    """Delivers the due outbound webhooks; a lane of its own, so a receiver at its timeout never delays mail."""
    try:
        events = deliver_all(should_stop=lambda: bool(stopping))
    except OperationalError as error:
        log.warning("Webhook pass failed on the database (%s); the next pass tries again.", type(error).__name__)
        return
    if events.handled:
        click.echo(f"Webhooks: {events}.")


def jobs_pass(name: str, stopping: StopFlag) -> None:
    echo_what_happened(run_due(worker=name, should_stop=lambda: bool(stopping)))


def work_once(name: str, batch_size: int = BATCH, stopping: StopFlag | None = None) -> None:
    """The lanes' passes one after the other, in this thread: jobs first, so that what they queue goes out in the
    pass; webhooks before mail, so that the email telling the admins of a disabled endpoint goes in the pass too."""
    stopping = stopping or StopFlag()
    jobs_pass(name, stopping)
    if not stopping:
        webhooks_pass(stopping)
    if not stopping:
        mail_pass(batch_size, stopping)
