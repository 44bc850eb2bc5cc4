"""One row per periodic job: when it last ran, how that went, when it is next due, and who holds it now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from feedback.extensions import db


class JobRun(db.Model):
    """The lease row of a periodic job: a worker runs it only after moving `lease_expires_at` past now itself.

    The claim is one conditional UPDATE, so among several workers (processes or machines) on one database
    exactly one runs a due job, on PostgreSQL and SQLite alike; a worker that dies mid-run gives the job back by
    simply letting its lease lapse.
    """

    __tablename__ = "job_runs"
    #: Personal data (feedback.db.Model): A job's counts, never a person.
    personal_data = ()
    not_personal_data = ("name", "last_outcome", "last_report", "locked_by")
    __table_args__ = (
        CheckConstraint("last_outcome IS NULL OR last_outcome IN ('ok', 'failed')", name="outcome_known"),
        CheckConstraint("(locked_by IS NULL) = (lease_expires_at IS NULL)", name="lease_has_holder"),
    )

    #: The job's registered name, e.g. surveys.lapse-links.
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_due_at: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    #: ok or failed; None until the first run finishes.
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    #: What the last run did, in words ("3 reminders queued"), or its error when it failed.
    last_report: Mapped[str] = mapped_column(Text, default="")
    #: The worker (host:pid:nonce) running it now; None when nobody is.
    locked_by: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
