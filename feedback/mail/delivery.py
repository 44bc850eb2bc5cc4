"""The outbox worker: delivers due messages over one connection, retries what failed, loses nothing."""

from __future__ import annotations

import logging
import os
import random
import secrets
import smtplib
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Connection, and_, bindparam, event, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.mail.rendering import as_sent, sender_address
from feedback.mail.signals import message_sent
from feedback.mail.transport import open_sender

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    #: Not sent on purpose: the address opted out, or a reminder was no longer needed.
    skipped: int = 0

    def __str__(self) -> str:
        skipped = f", skipped {self.skipped}" if self.skipped else ""
        return f"sent {self.sent}, will retry {self.retrying}, failed {self.failed}{skipped}"

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.skipped += other.skipped

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped


def is_permanent(error: Exception) -> bool:
    """A 5xx for the recipient will fail the same way tomorrow; anything else may pass on a retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPSenderRefused)
    return False


def record_failure(row: OutboxMessage, error: Exception, now: datetime) -> bool:
    """Returns True if the message will be retried, False if it is now failed for good."""
    release(row)
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    if is_permanent(error) or row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        row.status = "failed"
        row.failed_at = now
        return False
    base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    delay = base * 2 ** (row.attempts - 1) * random.uniform(0.5, 1.5)
    row.due_at = now + timedelta(seconds=delay)
    return True


def worker_name() -> str:
    """Unique per claim, so a worker's rows are told apart from every other worker's, and from its own earlier ones."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def claimable(now: datetime) -> ColumnElement[bool]:
    """Queued and due, and nobody holds a live lease on it (a lease that ran out is as good as none)."""
    return and_(
        OutboxMessage.status == "queued",
        OutboxMessage.due_at <= now,
        or_(OutboxMessage.lease_expires_at.is_(None), OutboxMessage.lease_expires_at <= now),
    )


def claim_batch(limit: int, now: datetime) -> list[OutboxMessage]:
    """Marks up to `limit` due messages as ours until the lease ends, and commits that before any is sent.

    On PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so two workers claiming at once take
    different rows instead of waiting for each other; a row another worker claimed and committed meanwhile fails
    the re-checked condition. SQLite serialises writers, so the same conditional UPDATE is enough there.
    """
    claim = worker_name()
    lease_ends = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT n SKIP LOCKED): PostgreSQL may evaluate such a
    # subquery more than once, and each evaluation skips the rows the previous one locked, so it claims more than n.
    candidates = (
        select(OutboxMessage.id)
        .where(claimable(now))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(candidates))
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), claimable(now))
        .values(claimed_by=claim, lease_expires_at=lease_ends)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    mine = select(OutboxMessage).where(OutboxMessage.claimed_by == claim)
    return list(db.session.scalars(mine.order_by(OutboxMessage.due_at, OutboxMessage.id)))


def release(row: OutboxMessage) -> None:
    row.claimed_by = None
    row.lease_expires_at = None


#: Built once: the statements the worker runs between two sends go straight to the connection.
_MARK_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("row_id"))
    .values(status="sent", sent_at=bindparam("at"), claimed_by=None, lease_expires_at=None)
)


def mark_sent(row: OutboxMessage, at: datetime) -> None:
    """One UPDATE by primary key, without the unit of work: this runs once per message, between two sends."""
    db.session.connection().execute(_MARK_SENT, {"row_id": row.id, "at": at})
    for name, value in {"status": "sent", "sent_at": at, "claimed_by": None, "lease_expires_at": None}.items():
        set_committed_value(row, name, value)  # what listeners of message_sent read, without making the row dirty


def reason_not_to_send(row: OutboxMessage) -> str:
    """Checked again just before sending: the customer may have opted out (or answered) since it was queued."""
    from feedback.mail.suppression import is_suppressed_now, skip_reason, suppression_for
    from feedback.surveys.operations import reminder_obsolete

    if row.unsubscribe_url is not None and is_suppressed_now(row.recipient):
        suppression = suppression_for(row.recipient)
        assert suppression is not None
        return skip_reason(suppression)
    if row.kind == "survey_reminder":
        return reminder_obsolete(row)
    return ""


def deliver_due(
    limit: int = 100, now: datetime | None = None, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """Claims up to `limit` due messages and sends them over one connection, committing after each.

    A commit per message is what keeps a crash from sending anything twice: a message is marked sent right after
    the server accepted it, so at most the one in flight when the process died is sent again. Claimed messages
    not sent (the worker was stopped, or its lease is about to run out) are given back at once; those of a worker
    that died are taken by the next worker once their lease expires. A worker never starts a message whose lease
    ends within a few SMTP timeouts, so no other worker can take a message while it is being sent.
    """
    report = DeliveryReport()
    now = now or utcnow()
    pending = claim_batch(limit, now)
    if not pending:
        return report
    with sending_session():
        _send_claimed(pending, report, should_stop)
    return report


@contextmanager
def sending_session() -> Iterator[None]:
    """The worker's session while it sends: one cheap commit per message, still one commit per message.

    Objects are not expired at each commit (the batch's rows would otherwise be read again, one SELECT each).
    On PostgreSQL the worker's transactions run with `synchronous_commit = off`: the commit that marks a message
    sent does not wait for the disk. (SQLite runs in WAL mode with `synchronous = NORMAL`, which is the same
    trade-off, for every connection: see feedback.db.) Why that keeps the promise:

    - The worker dying (SIGKILL, OOM, a deploy) is the crash the lease design is about. A commit that returned
      is already in the database server's memory, visible to every other worker, and reaches the disk within
      a fraction of a second whatever happens to the worker. So a dead worker still repeats at most the one
      message it was sending, exactly as with fully durable commits.
    - Only the database server itself crashing (or the machine losing power) within that fraction of a second
      can undo a few "sent" marks. Those messages are then sent again, with the same Message-ID: a duplicate
      that mail clients can recognise, never a loss. On PostgreSQL nothing else is written this way:
      cancellations, answers and every queued message are committed durably as before.
    - Committing a whole batch of "sent" marks at once would be cheaper still, but a worker killed mid-batch
      would then re-send every message of the batch sent so far: that is more than the lease design allows.
    """
    session = db.session()
    postgresql = session.get_bind().dialect.name == "postgresql"

    def without_waiting_for_disk(session: Session, transaction: Any, connection: Connection) -> None:
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")

    if postgresql:
        event.listen(session, "after_begin", without_waiting_for_disk)
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True
        if postgresql:
            event.remove(session, "after_begin", without_waiting_for_disk)
        session.rollback()
        session.expire_all()


def _send_claimed(pending: list[OutboxMessage], report: DeliveryReport, should_stop: Callable[[], bool] | None) -> None:
    lease_ends = pending[0].lease_expires_at
    assert lease_ends is not None
    margin = timedelta(seconds=4 * current_app.config["MAIL_TIMEOUT"])
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    envelope_from = sender_address()[1]
    try:
        with open_sender() as sender:
            while pending:
                if (should_stop is not None and should_stop()) or utcnow() + margin >= lease_ends:
                    break
                row = pending.pop(0)
                if reason := reason_not_to_send(row):
                    row.status, row.last_error = "skipped", reason
                    release(row)
                    report.skipped += 1
                    db.session.commit()
                    continue
                try:
                    sender.send_raw(envelope_from, [row.recipient], as_sent(row, utcnow()))
                except smtplib.SMTPServerDisconnected:
                    pending.insert(0, row)
                    raise  # the connection is gone: the rest of the batch fails with it
                except (smtplib.SMTPException, ValueError) as error:
                    _count(report, record_failure(row, error, utcnow()))
                else:
                    mark_sent(row, utcnow())
                    message_sent.send(app, message=row)
                    report.sent += 1
                db.session.commit()
    except (OSError, smtplib.SMTPException) as error:
        log.warning("SMTP unavailable, %d message(s) will be retried: %s", len(pending), error)
        for row in pending:
            _count(report, record_failure(row, error, utcnow()))
        pending = []
        db.session.commit()
    for row in pending:  # stopped early: give the rest back now rather than when the lease ends
        release(row)
    db.session.commit()


def _count(report: DeliveryReport, retrying: bool) -> None:
    if retrying:
        report.retrying += 1
    else:
        report.failed += 1
