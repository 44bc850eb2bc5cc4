"""An uploaded CSV file and its way through the worker: checked, confirmed, imported (all rows or none)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db

#: uploaded → checking → checked → confirmed → importing → imported; failed from checking or importing.
STATUSES = ("uploaded", "checking", "checked", "confirmed", "importing", "imported", "failed")
#: What a worker picks up, and what it turns it into while it holds the lease.
WAITING = {"uploaded": "checking", "confirmed": "importing"}


class ImportRun(db.Model):
    """One CSV import. The worker claims a waiting run under a lease, so exactly one worker checks or imports it."""

    __tablename__ = "import_runs"
    #: Personal data (feedback.db.Model): The uploaded file is rows of customers; its problems and error quote them.
    personal_data = ("filename", "data", "problems", "error")
    not_personal_data = ("kind", "status", "claimed_by", "duplicates")
    __table_args__ = (
        CheckConstraint(
            "status IN ('uploaded', 'checking', 'checked', 'confirmed', 'importing', 'imported', 'failed')",
            name="status_known",
        ),
        CheckConstraint("kind IN ('cancellations', 'customers')", name="kind_known"),
        CheckConstraint("(claimed_by IS NULL) = (lease_expires_at IS NULL)", name="lease_has_holder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: cancellations or customers.
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="uploaded", index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    #: The file as uploaded; kept until the import is done so that the worker reads exactly what was checked.
    #: Deferred: the progress page and the worker's every commit reload the run, and must not fetch megabytes each time.
    data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The uploader chose "Import only the N valid rows": the bad ones are skipped instead of refusing the file.
    only_valid: Mapped[bool] = mapped_column(default=False)
    #: Rows in the file (known once it is read), rows checked so far, rows written by the import.
    total_rows: Mapped[int] = mapped_column(default=0)
    checked_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    #: [line, column, message] for every problem found; line 1 is the header (a problem with the whole file).
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: [line, earlier line, how] for every row that repeats an earlier one (same external_id, or same address and
    #: date): it is left out, the earlier one imported. Line numbers and column names only, never a value.
    duplicates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Why the import failed, when it did: nothing was imported.
    error: Mapped[str] = mapped_column(Text, default="")
    #: The worker holding the run now (host:pid:nonce) and until when; another takes it over once that passes.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def bad_lines(self) -> set[int]:
        return {line for line, _, _ in self.problems}

    @property
    def file_problem(self) -> bool:
        """A problem with the file as a whole (its header, its encoding): no row can be imported."""
        return any(line <= 1 for line, _, _ in self.problems)

    @property
    def duplicate_lines(self) -> set[int]:
        return {line for line, _, _ in self.duplicates or []}

    @property
    def valid_count(self) -> int:
        """The rows an import writes: neither bad nor a repeat of an earlier row."""
        return 0 if self.file_problem else self.total_rows - len(self.bad_lines) - len(self.duplicate_lines)

    @property
    def busy(self) -> bool:
        """The worker has something still to do: the page keeps refreshing."""
        return self.status in ("uploaded", "checking", "confirmed", "importing")


class ImportMail(db.Model):
    """An imported cancellation whose invitation and review request are still to be queued (after the import's
    commit, a batch at a time, by `queue_import_mail`); the row goes when they are."""

    __tablename__ = "import_mail"

    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"), index=True)
