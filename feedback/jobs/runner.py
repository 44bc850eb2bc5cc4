"""Runs the due jobs: each is claimed with one conditional UPDATE, so among many workers exactly one runs it."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from feedback.db import utcnow
from feedback.extensions import db
from feedback.jobs.models import JobRun
from feedback.jobs.registry import Job, registered
from feedback.requestlog import logged_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    """One run of one job: what it reported, or the error it failed with (one line)."""

    name: str
    ok: bool
    report: str
    started_at: datetime
    finished_at: datetime

    def __str__(self) -> str:
        if not self.ok:
            return f"{self.name}: failed: {self.report}"
        return f"{self.name}: {self.report or 'nothing to do'}"


def worker_name() -> str:
    """Who holds a job, as `flask jobs status` shows it: host, process and a nonce telling apart two in one process."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def run_due(
    now: datetime | None = None,
    *,
    jobs: Iterable[Job] | None = None,
    worker: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[JobResult]:
    """Runs every due job once, each in this worker alone, and returns what each did (jobs not run are left out).

    `now` is the pass's clock (tests move it); `jobs` defaults to every registered job. A job that raises is
    recorded as failed, its uncommitted work rolled back, and the other jobs still run; either way it is next due
    one interval after this run started. `should_stop` is asked before each job: a stopping worker starts no more.
    """
    now = now or utcnow()
    jobs = registered() if jobs is None else list(jobs)
    worker = worker or worker_name()
    _add_missing_rows(jobs, now)
    results = []
    for job in jobs:
        if should_stop and should_stop():
            break
        if _claim(job, now, worker):
            results.append(_run_claimed(job, now, worker))
    return results


def _add_missing_rows(jobs: list[Job], now: datetime) -> None:
    """A job seen for the first time is due at once. Two workers inserting the same row at once both succeed."""
    names = [job.name for job in jobs]
    known = set(db.session.scalars(select(JobRun.name).where(JobRun.name.in_(names))))
    missing = [{"name": name, "next_due_at": now, "last_report": ""} for name in names if name not in known]
    if missing:
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.session.get_bind().dialect.name]
        db.session.execute(dialect.insert(JobRun).values(missing).on_conflict_do_nothing(index_elements=["name"]))
    db.session.commit()


def _claim(job: Job, now: datetime, worker: str) -> bool:
    """Due, and nobody holds a live lease: one UPDATE decides it, and the database lets one worker change the row.

    On PostgreSQL a second worker's UPDATE waits for the first's commit and then re-checks the row, which is no
    longer due; SQLite serialises writers. The next run is scheduled here, so a run that dies stays scheduled.
    """
    claimed = db.session.execute(
        update(JobRun)
        .where(
            JobRun.name == job.name,
            JobRun.next_due_at <= now,
            or_(JobRun.lease_expires_at.is_(None), JobRun.lease_expires_at <= now),
        )
        .values(locked_by=worker, lease_expires_at=now + job.lease, last_started_at=now, next_due_at=now + job.every)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # before the job starts: its own commits and rollbacks must not touch the claim
    return claimed.rowcount == 1


def _run_claimed(job: Job, now: datetime, worker: str) -> JobResult:
    """Runs it, logging one line for the run as a request logs one (see feedback.requestlog.logged_run)."""
    with logged_run("job", job.name) as line:
        result = _run_and_record(job, now, worker)
        line.update(outcome="ok" if result.ok else "failed", report=result.report or "nothing to do")
        line["idle"] = result.ok and not result.report
    return result


def _run_and_record(job: Job, now: datetime, worker: str) -> JobResult:
    started = time.monotonic()
    try:
        report, ok = str(job.run(now) or ""), True
    except Exception as error:
        db.session.rollback()
        report, ok = describe(error), False
        log.error("Job %s failed: %s", job.name, report)
    finished = now + timedelta(seconds=time.monotonic() - started)
    # What the job left uncommitted (a bulk delete, say) is committed together with the record of its run.
    recorded = db.session.execute(
        update(JobRun)
        .where(JobRun.name == job.name, JobRun.locked_by == worker)
        .values(
            last_finished_at=finished,
            last_outcome="ok" if ok else "failed",
            last_report=report[:2000],
            locked_by=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if recorded.rowcount != 1:
        log.warning("Job %s ran past its lease of %s; another worker has taken it over.", job.name, job.lease)
    return JobResult(job.name, ok, report, now, finished)


_LIBRARIES = {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}


def describe(error: Exception) -> str:
    """The error on one line, with the innermost line of our own code it came from; the traceback stays out."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    if len(text) > 500:
        text = text[:499] + "…"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(tuple(_LIBRARIES))]
    if frames:
        frame = frames[-1]
        text += f" (at {os.path.relpath(frame.filename)}:{frame.lineno} in {frame.name})"
    return text
