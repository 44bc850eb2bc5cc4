"""What the worker does with an uploaded CSV: claims it under a lease, checks it, and imports it when confirmed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.imports.models import WAITING, ImportRun
from feedback.imports.operations import (
    ImportFailed,
    Lookups,
    Progress,
    batches,
    check_rows,
    duplicate_rows,
    import_mail_waiting,
    import_rows,
    read,
)
from feedback.mail.outbox import enqueue
from feedback.urls import external_url

#: How long a worker holds a run without a word; checking renews it every batch. A run whose holder went quiet
#: this long is taken over (and started again: an import that died wrote nothing).
LEASE = timedelta(minutes=15)


def start_run(kind: str, data: bytes, filename: str, uploader: User) -> ImportRun:
    """Stores the upload for the worker to check; flushes, the view commits."""
    run = ImportRun(kind=kind, data=data, filename=filename[:255], uploaded_by_id=uploader.id, problems=[])
    db.session.add(run)
    db.session.flush()
    return run


def claim_next(worker: str, now: datetime | None = None) -> ImportRun | None:
    """The oldest run waiting for a worker (or whose worker's lease ran out), claimed with one conditional UPDATE."""
    now = now or utcnow()
    lapsed = ImportRun.lease_expires_at <= now
    candidates = db.session.execute(
        select(ImportRun.id, ImportRun.status)
        .where(or_(ImportRun.status.in_(WAITING), and_(ImportRun.status.in_(WAITING.values()), lapsed)))
        .order_by(ImportRun.id)
        .limit(10)
    ).all()
    for run_id, status in candidates:
        claimed = db.session.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id, ImportRun.status == status)
            .where(or_(ImportRun.lease_expires_at.is_(None), lapsed))
            .values(status=WAITING.get(status, status), claimed_by=worker, lease_expires_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if claimed.rowcount == 1:
            return db.session.get(ImportRun, run_id, populate_existing=True)
    return None


def _still_mine(run: ImportRun, worker: str, **values: object) -> bool:
    """Writes `values` on the run if this worker still holds it; False when another took it over."""
    held = db.session.execute(
        update(ImportRun)
        .where(ImportRun.id == run.id, ImportRun.claimed_by == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return held.rowcount == 1


def _release(**values: object) -> dict[str, object]:
    return {"claimed_by": None, "lease_expires_at": None, **values}


def uploader(run: ImportRun) -> User | None:
    return db.session.get(User, run.uploaded_by_id) if run.uploaded_by_id else None


def check_run(run: ImportRun, worker: str) -> None:
    """Checks every row a batch at a time, committing the count after each, so the page can show progress."""
    acting, kind = uploader(run), run.kind
    result = read(kind, run.data or b"", acting)
    problems = list(result.problems)
    if not _still_mine(run, worker, total_rows=len(result.rows), checked_rows=0):
        return db.session.rollback()
    db.session.commit()
    if not result.file_problem:
        lookups = Lookups()
        checked = 0
        for batch in batches(result.rows):
            problems.extend(check_rows(kind, batch, acting, lookups))
            checked += len(batch)
            if not _still_mine(run, worker, checked_rows=checked, lease_expires_at=utcnow() + LEASE):
                return db.session.rollback()
            db.session.commit()
    bad = {line for line, _, _ in problems}
    duplicates = [] if result.file_problem else [list(d) for d in duplicate_rows(kind, result.rows, bad)]
    done = _release(status="checked", problems=[list(p) for p in problems], duplicates=duplicates, checked_at=utcnow())
    if _still_mine(run, worker, checked_rows=len(result.rows), **done):
        db.session.commit()


def confirm_run(run: ImportRun, only_valid: bool) -> None:
    """The uploader's go-ahead: the worker imports it next. Flushes; the view commits."""
    run.status, run.only_valid = "confirmed", only_valid
    db.session.flush()


#: What a discarded run is left with: no file, no problems (they quote its rows), only why.
DISCARDED = {"status": "failed", "data": None, "problems": [], "duplicates": []}


def discard_run(run: ImportRun, why: str, now: datetime | None = None) -> bool:
    """The uploader's "Discard" (or its expiry): the file and the problems quoting it go; the run stays, failed,
    saying why. Only a run no worker holds and nobody confirmed: False otherwise. Flushes; the caller commits."""
    discarded = db.session.execute(
        update(ImportRun)
        .where(ImportRun.id == run.id, ImportRun.status.in_(("uploaded", "checked")), ImportRun.claimed_by.is_(None))
        .values(**DISCARDED, error=why, finished_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(run)
    return discarded.rowcount == 1


def expire_unconfirmed(now: datetime) -> int:
    """Discards every upload checked more than IMPORT_UNCONFIRMED_DAYS ago and never confirmed. Flushes."""
    days = current_app.config["IMPORT_UNCONFIRMED_DAYS"]
    cutoff = now - timedelta(days=days)
    expired = db.session.execute(
        update(ImportRun)
        .where(ImportRun.status == "checked", ImportRun.claimed_by.is_(None), ImportRun.checked_at < cutoff)
        .values(**DISCARDED, error=f"Discarded: not confirmed within {days} days of its check.", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return expired.rowcount


def import_run(run: ImportRun, worker: str) -> None:
    """All the valid rows in one transaction, committed together with the run's new status; or nothing."""
    acting = uploader(run)
    result = read(run.kind, run.data or b"", acting)
    bad = run.bad_lines
    rows = [(line, values) for line, values in result.rows if line not in bad | run.duplicate_lines]
    progress = _progress_elsewhere(run) if db.session.get_bind().dialect.name == "postgresql" else None
    try:
        if run.file_problem or (bad and not run.only_valid):
            raise ImportFailed(1, {"file": "the file has problems and only the valid rows were not chosen"})
        imported = import_rows(run.kind, rows, acting, progress, run_id=run.id)
    except ImportFailed as failed:
        db.session.rollback()
        failed_now = _release(status="failed", error=str(failed), finished_at=utcnow(), data=None)
        if _still_mine(run, worker, **failed_now):
            _tell_uploader(run, acting)
            db.session.commit()
        return
    done = _release(status="imported", imported_rows=imported, finished_at=utcnow(), data=None)
    if not _still_mine(run, worker, **done):  # another worker took it over: its import, not ours, is the one
        return db.session.rollback()
    _tell_uploader(run, acting)
    db.session.commit()


def _progress_elsewhere(run: ImportRun) -> Progress:
    """On PostgreSQL the count of rows written goes through a connection of its own, committed at once: the import's
    transaction is still open. (SQLite has one writer: there the page shows the import without a count.)"""
    written = 0

    def progress(count: int) -> None:
        nonlocal written
        written += count
        with db.engine.begin() as connection:
            connection.execute(update(ImportRun).where(ImportRun.id == run.id).values(imported_rows=written))

    return progress


def _tell_uploader(run: ImportRun, acting: User | None) -> None:
    db.session.refresh(run)
    if acting is None:
        return
    outcome = "is done" if run.status == "imported" else "failed"
    enqueue(
        "import_done",
        to=acting.email,
        to_name=acting.name,
        subject=f"Your CSV import {outcome}: {run.filename or run.kind}",
        template="import_done",
        run=run,
        name=acting.name,
        run_url=external_url("imports.run", run_id=run.id),
    )


def work(worker: str, now: datetime | None = None) -> list[str]:
    """Every waiting run, oldest first: checked or imported. Returns what happened, one phrase per run."""
    done = []
    while (run := claim_next(worker, now)) is not None:
        if run.status == "checking":
            check_run(run, worker)
        else:
            import_run(run, worker)
        db.session.refresh(run)
        if run.status == "imported":
            done.append(f"import {run.id}: {run.imported_rows} {run.kind} imported")
        else:
            done.append(f"import {run.id}: {run.status}")
    return done


def mail_waiting_for(run: ImportRun) -> int:
    return import_mail_waiting(run.id)
