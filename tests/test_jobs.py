"""Periodic jobs: each due job runs once among all workers, failures are recorded, dead workers' jobs are taken over.

Every test runs on SQLite and on PostgreSQL; the clock is the `now` handed to `run_due`, so nothing here sleeps.
"""

from __future__ import annotations

import ast
import importlib
import multiprocessing
import signal
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import flask_command, log, wait_until
from sqlalchemy import delete, func, select, update

from feedback import create_app
from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.jobs import DuplicateJob, Job, periodic, registered, run_due, tally
from feedback.jobs import registry as job_registry
from feedback.jobs.models import JobRun
from feedback.surveys.models import Invitation
from feedback.webhooks.models import ProcessedWebhook

ROOT = Path(__file__).resolve().parent.parent
MINUTE = timedelta(minutes=1)


class Counter:
    """A job that counts its runs and says so; thread-safe, for the races."""

    def __init__(self) -> None:
        self.runs: list[datetime] = []
        self._lock = threading.Lock()

    def __call__(self, now: datetime) -> str:
        with self._lock:
            self.runs.append(now)
            return tally(len(self.runs), "run so far", "runs so far")


def job_row(name: str) -> JobRun:
    db.session.expire_all()
    row = db.session.get(JobRun, name)
    assert row is not None
    return row


def test_the_features_register_their_jobs_with_their_intervals(app):
    assert {job.name: job.every for job in registered()} == {
        "actions.reminders": timedelta(minutes=15),
        "actions.open-items-digest": timedelta(hours=1),
        "api.forget-idempotency-keys": timedelta(hours=1),
        "helpdesk.fetch": timedelta(seconds=30),
        "imports.work": timedelta(seconds=5),
        "inbound.poll-imap": timedelta(minutes=1),
        "inbound.process": timedelta(minutes=1),
        "insights.cancellations-digest": timedelta(hours=1),
        "privacy.retention": timedelta(hours=1),
        "surveys.lapse-links": timedelta(minutes=1),
        "surveys.queue-reminders": timedelta(minutes=1),
        "webhooks.forget-event-ids": timedelta(hours=1),
    }


def test_the_runner_takes_jobs_in_name_order_whatever_was_imported_first(app, monkeypatch):
    monkeypatch.setattr(job_registry, "_jobs", {})
    for name in ("zeta.last", "alpha.first", "mid.dle"):
        periodic(name, every=MINUTE)(lambda now: "")
    assert [job.name for job in registered()] == ["alpha.first", "mid.dle", "zeta.last"]


def test_registering_again_is_harmless_and_a_clash_is_refused(app, app_config):
    import feedback.surveys.jobs

    create_app(app_config)  # a second app imports the job modules again
    importlib.reload(feedback.surveys.jobs)  # and a reloaded module registers new function objects
    periodic("surveys.lapse-links", every=MINUTE)(feedback.surveys.jobs.lapse_links)
    assert len(registered()) == 12

    def lapse_links(now: datetime) -> str:  # another function under a taken name
        return ""

    with pytest.raises(DuplicateJob, match="surveys.lapse-links is already feedback.surveys.jobs.lapse_links"):
        periodic("surveys.lapse-links", every=MINUTE)(lapse_links)
    assert {job.name: job for job in registered()}["surveys.lapse-links"].run is feedback.surveys.jobs.lapse_links


def test_a_due_job_runs_once_and_then_waits_for_its_interval(app):
    count = Counter()
    job = Job("test.count", timedelta(minutes=5), count)
    with app.app_context():
        start = utcnow()
        first = run_due(start, jobs=[job])
        assert [(result.name, result.ok, result.report) for result in first] == [("test.count", True, "1 run so far")]
        assert run_due(start, jobs=[job]) == []
        assert run_due(start + timedelta(minutes=4, seconds=59), jobs=[job]) == []
        assert [result.report for result in run_due(start + timedelta(minutes=5), jobs=[job])] == ["2 runs so far"]
        row = job_row("test.count")
        assert (row.last_outcome, row.last_report) == ("ok", "2 runs so far")
        assert row.last_started_at == start + timedelta(minutes=5)
        assert row.next_due_at == start + timedelta(minutes=10)
        assert row.last_finished_at >= row.last_started_at
        assert (row.locked_by, row.lease_expires_at) == (None, None)
    assert count.runs == [start, start + timedelta(minutes=5)]


def test_a_failing_job_is_recorded_its_work_undone_and_the_others_still_run(app, owner, caplog):
    def breaks(now: datetime) -> str:
        db.session.execute(delete(User))  # work that must not survive the failure
        raise RuntimeError("the report service is down\nsecond line")

    count = Counter()
    jobs = [Job("test.breaks", MINUTE, breaks), Job("test.count", MINUTE, count)]
    with app.app_context():
        start = utcnow()
        results = run_due(start, jobs=jobs)
        assert [(result.name, result.ok) for result in results] == [("test.breaks", False), ("test.count", True)]
        error = results[0].report
        assert error.startswith("RuntimeError: the report service is down second line (at ")
        assert "test_jobs.py:" in error and error.endswith(" in breaks)")
        assert str(results[0]) == f"test.breaks: failed: {error}"
        assert db.session.scalar(select(func.count()).select_from(User)) == 1  # rolled back
        row = job_row("test.breaks")
        assert (row.last_outcome, row.last_report, row.locked_by) == ("failed", error, None)
        assert row.next_due_at == start + MINUTE

        again = run_due(start + MINUTE, jobs=jobs)  # the next run happens, on time
        assert [(result.name, result.ok) for result in again] == [("test.breaks", False), ("test.count", True)]
    failures = [record for record in caplog.records if record.name == "feedback.jobs.runner"]
    assert [record.getMessage() for record in failures] == [f"Job test.breaks failed: {error}"] * 2
    assert all(record.exc_info is None for record in failures)  # one line, no traceback


def test_a_stopping_worker_starts_no_further_job(app):
    stopping = []

    def asks_to_stop(now: datetime) -> str:
        stopping.append(True)  # SIGTERM arrives while this job runs
        return ""

    count = Counter()
    jobs = [Job("test.first", MINUTE, asks_to_stop), Job("test.second", MINUTE, count)]
    with app.app_context():
        start = utcnow()
        assert [result.name for result in run_due(start, jobs=jobs, should_stop=lambda: bool(stopping))] == [
            "test.first"
        ]
        assert [result.name for result in run_due(start, jobs=jobs)] == ["test.second"]  # still due for the next
    assert count.runs == [start]


class Killed(BaseException):
    """What a killed process looks like from inside: the job stops, nothing after it runs."""


def test_a_lapsed_lease_is_taken_over(app):
    def dies(now: datetime) -> str:
        raise Killed

    count = Counter()
    with app.app_context():
        start = utcnow()
        with pytest.raises(Killed):
            run_due(start, jobs=[Job("test.count", MINUTE, dies, lease=timedelta(minutes=10))], worker="gone:1:dead")
        db.session.rollback()
        assert job_row("test.count").locked_by == "gone:1:dead"

        job = Job("test.count", MINUTE, count, lease=timedelta(minutes=10))
        assert run_due(start + timedelta(minutes=9, seconds=59), jobs=[job]) == []  # due, but the lease is live
        taken = run_due(start + timedelta(minutes=10), jobs=[job], worker="alive:2:well")
        assert [(result.name, result.ok) for result in taken] == [("test.count", True)]
        row = job_row("test.count")
        assert (row.locked_by, row.last_outcome, row.next_due_at) == (None, "ok", start + timedelta(minutes=11))


def test_a_run_that_outlived_its_lease_leaves_the_new_holder_alone(app, caplog):
    """The presumed-dead worker was only slow: its late record must not clear the lease another worker now holds."""

    def slow(now: datetime) -> str:
        # While this run is still going, its lease lapses and another worker claims the job.
        db.session.execute(
            update(JobRun).values(locked_by="second:2:taker", lease_expires_at=now + timedelta(minutes=20))
        )
        db.session.commit()
        return "finished late"

    with app.app_context():
        results = run_due(utcnow(), jobs=[Job("test.slow", MINUTE, slow)], worker="first:1:slow")
        assert [result.report for result in results] == ["finished late"]
        row = job_row("test.slow")
        assert (row.locked_by, row.last_outcome) == ("second:2:taker", None)  # nothing recorded over the taker
    assert any("ran past its lease" in record.getMessage() for record in caplog.records)


def _race(app_config: dict[str, Any], count: int, now: datetime, jobs: list[Job]) -> list[list[str]]:
    """`count` workers, each a thread with its own app context, session and connection, calling run_due together."""
    racing = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": count + 2, "max_overflow": 2}})
    start = threading.Barrier(count)
    ran: list[list[str]] = []

    def work() -> None:
        with racing.app_context():
            start.wait()
            results = run_due(now, jobs=jobs)
            ran.append([result.name for result in results if result.ok])
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with racing.app_context():
        db.engine.dispose()
    return ran


def test_workers_running_at_once_run_each_job_exactly_once(app, app_config):
    counters = [Counter() for _ in range(6)]
    jobs = [Job(f"test.race-{n}", MINUTE, counter) for n, counter in enumerate(counters)]
    start = utcnow()
    first = _race(app_config, 4, start, jobs)  # no rows yet: all four insert them at once
    assert sorted(name for names in first for name in names) == sorted(job.name for job in jobs)
    second = _race(app_config, 4, start + MINUTE, jobs)  # the rows exist: all four claim at once
    assert sorted(name for names in second for name in names) == sorted(job.name for job in jobs)
    assert [counter.runs for counter in counters] == [[start, start + MINUTE]] * 6
    with app.app_context():
        rows = db.session.scalars(select(JobRun)).all()
        assert len(rows) == 6 and {(row.last_outcome, row.locked_by) for row in rows} == {("ok", None)}


def run_in_process(config: dict[str, Any], now: datetime, start: Any, out: Any) -> None:
    """A worker process of its own: its own interpreter, app and connection pool, released with the others."""
    app = create_app(config)
    with app.app_context():
        start.wait()
        out.put([result.name for result in run_due(now) if result.ok])
        db.engine.dispose()


def test_two_processes_run_each_registered_job_exactly_once(app, app_config):
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a second worker process is
    start, out = context.Barrier(2), context.Queue()
    now = utcnow()
    processes = [context.Process(target=run_in_process, args=(app_config, now, start, out)) for _ in range(2)]
    for process in processes:
        process.start()
    ran = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0, 0]
    assert sorted(name for names in ran for name in names) == sorted(job.name for job in registered())


def test_flask_outbox_send_only_delivers_and_flask_jobs_run_lapses_the_link(app, runner, smtp, owner):
    log(app, owner["email"])
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - MINUTE))
        db.session.commit()
    sent = runner.invoke(args=["outbox", "send"])
    assert "Outbox: sent 2, will retry 0, failed 0." in sent.output
    with app.app_context():
        assert db.session.scalars(select(Invitation.expired_at)).one() is None  # mail is no scheduler any more

    ran = runner.invoke(args=["jobs", "run"])
    assert ran.exit_code == 0, ran.output
    assert ran.output.splitlines() == [
        "actions.open-items-digest: nothing to do",
        "actions.reminders: nothing to do",
        "api.forget-idempotency-keys: nothing to do",
        "helpdesk.fetch: nothing to do",  # no help desk configured
        "imports.work: nothing to do",
        "inbound.poll-imap: nothing to do",  # no INBOUND_IMAP_URL
        "inbound.process: nothing to do",
        "insights.cancellations-digest: nothing to do",  # no admin here, so no one wants the digest
        "privacy.retention: nothing to do",
        "surveys.lapse-links: 1 survey link expired",
        "surveys.queue-reminders: nothing to do",
        "webhooks.forget-event-ids: nothing to do",
    ]
    with app.app_context():
        assert db.session.scalars(select(Invitation.expired_at)).one() is not None
    again = runner.invoke(args=["jobs", "run"])
    assert (again.exit_code, again.output) == (0, "No job was due.\n")


def test_flask_jobs_run_exits_1_when_a_job_failed(app, runner, monkeypatch):
    def breaks(now: datetime) -> str:
        """Always fails, for this test."""
        raise ValueError("no such table: imaginary")

    monkeypatch.setitem(job_registry._jobs, "test.breaks", Job("test.breaks", MINUTE, breaks))
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 1
    assert "test.breaks: failed: ValueError: no such table: imaginary (at " in result.output
    assert "surveys.lapse-links: nothing to do" in result.output  # the others ran
    assert "Traceback" not in result.output


def test_flask_jobs_status_tells_a_newcomer_what_runs_when(app, runner, monkeypatch):
    def breaks(now: datetime) -> str:
        """Always fails, for this test."""
        raise ValueError("the disk is full")

    monkeypatch.setitem(job_registry._jobs, "test.breaks", Job("test.breaks", MINUTE, breaks))
    before = runner.invoke(args=["jobs", "status"]).output
    assert "13 periodic jobs (times in UTC, now " in before
    assert "surveys.lapse-links, every 1 min: Marks survey links past SURVEY_LINK_DAYS expired" in before
    assert "api.forget-idempotency-keys, every 1 h: Deletes Idempotency-Keys" in before
    assert before.count("last run   never; it runs at the next pass of a worker") == 13

    runner.invoke(args=["jobs", "run"])
    with app.app_context():
        held_until = utcnow() + timedelta(minutes=5)
        db.session.execute(
            update(JobRun)
            .where(JobRun.name == "surveys.queue-reminders")
            .values(locked_by="web-1:4242:cafe", lease_expires_at=held_until)
        )
        db.session.execute(
            update(JobRun)
            .where(JobRun.name == "webhooks.forget-event-ids")
            .values(locked_by="web-2:99:dead", lease_expires_at=utcnow() - MINUTE)
        )
        db.session.add(JobRun(name="old.renamed", next_due_at=utcnow(), last_report=""))
        db.session.commit()
    status = runner.invoke(args=["jobs", "status"])
    assert status.exit_code == 0, status.output
    blocks = {block.split(",")[0].split(":")[0]: block for block in status.output.split("\n\n")[1:]}
    lapse = blocks["surveys.lapse-links"].splitlines()
    assert lapse[1].startswith("  last run   ") and lapse[1].endswith(": ok")
    assert "s ago), took " in lapse[1]
    assert lapse[2] == "  it did     nothing (there was nothing to do)"
    assert lapse[3].startswith("  next due   ") and ", in " in lapse[3]
    assert lapse[4] == "  held by    nobody (not running)"
    failed = blocks["test.breaks"]
    assert ": FAILED" in failed and "  error      ValueError: the disk is full (at " in failed
    assert (
        f"web-1:4242:cafe, running it now (lease until {held_until:%Y-%m-%d %H:%M:%S})"
        in blocks["surveys.queue-reminders"]
    )
    assert "web-2:99:dead, whose lease ran out at " in blocks["webhooks.forget-event-ids"]
    assert "presumed dead, the next worker takes the job over" in blocks["webhooks.forget-event-ids"]
    assert "old.renamed: no longer registered (a job removed or renamed since); its row is harmless." in status.output


def flask(database_url: str, smtp: Any, *args: str) -> subprocess.Popen[str]:
    """A `flask …` command as a process of its own, as a platform runs a Procfile's line."""
    command, env = flask_command(database_url, smtp, *args)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen[str]) -> str:
    """What the command printed, without the one log line per job run and mail batch (feedback.runs)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output = process.communicate(timeout=30)[0]
        return "".join(line for line in output.splitlines(keepends=True) if " INFO feedback.runs [" not in line)
    finally:
        if process.poll() is None:
            process.kill()


def jobs_done(app) -> int:
    with app.app_context():
        done = db.session.scalar(select(func.count()).where(JobRun.last_outcome == "ok"))
        db.session.remove()
        return done


def test_flask_worker_delivers_mail_and_runs_the_jobs_until_sigterm(app, database_url, smtp, owner):
    log(app, owner["email"])  # the customer's invitation and the owner's review request
    with app.app_context():
        db.session.add(ProcessedWebhook(source="stripe", event_id="evt_old", received_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    process = flask(database_url, smtp, "worker", "--interval", "0.2")
    try:
        wait_until(lambda: len(smtp.messages) == 2 and jobs_done(app) == 12, timeout=60)
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert lines[0] == "Worker started: delivering mail and running 12 periodic jobs; checking every 0.2s."
    assert "Job webhooks.forget-event-ids: 1 webhook event id forgotten." in lines
    assert "Outbox: sent 2, will retry 0, failed 0." in lines
    assert lines[-1] == "Worker stopped."
    assert sorted(str(message["To"]) for message in smtp.messages) == [
        "Casey Customer <casey@client.test>",
        "Olivia Owner <olivia@acme.test>",
    ]


def test_flask_jobs_work_runs_the_jobs_until_sigterm(app, database_url, smtp):
    process = flask(database_url, smtp, "jobs", "work", "--interval", "0.2")
    try:
        wait_until(lambda: jobs_done(app) == 12, timeout=60)
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert output.splitlines() == ["Job runner started (12 jobs); checking every 0.2s.", "Job runner stopped."]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_jobs_and_the_mail_cli_know_no_feature():
    core = ("feedback.db", "feedback.extensions", "feedback.config", "feedback.jobs", "feedback.requestlog")
    for path in (ROOT / "feedback" / "jobs").glob("*.py"):
        ours = {name for name in imported_modules(path) if name.startswith("feedback")}
        assert all(name.startswith(core) for name in ours), (path.name, ours)
    mail_cli = {name for name in imported_modules(ROOT / "feedback" / "mail" / "cli.py") if name.startswith("feedback")}
    allowed = (
        "feedback.db",
        "feedback.extensions",
        "feedback.formatting",
        "feedback.mail",
    )  # formatting: numbers, words
    assert all(name.startswith(allowed) for name in mail_cli), mail_cli
