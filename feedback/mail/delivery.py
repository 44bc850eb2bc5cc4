"""The outbox worker: delivers due messages over one connection, retries what failed, loses nothing."""

from __future__ import annotations

import logging
import os
import random
import re
import secrets
import smtplib
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Connection, and_, bindparam, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from feedback.config import SEND_MARGIN_TIMEOUTS
from feedback.db import utcnow
from feedback.extensions import db
from feedback.formatting import plural
from feedback.mail.hooks import envelope_sender, send_check
from feedback.mail.models import OutboxContent, OutboxMessage
from feedback.mail.rendering import as_sent, sender_address
from feedback.mail.suppression import skip_reason, suppressed_now
from feedback.mail.transport import open_sender
from feedback.requestlog import logged_run

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    #: Not sent on purpose: the address opted out, or a reminder was no longer needed.
    skipped: int = 0
    #: Claimed and handed back untouched, though nobody asked the worker to stop: its lease is too short to send.
    handed_back: int = 0

    def __str__(self) -> str:
        skipped = f", skipped {self.skipped}" if self.skipped else ""
        return f"sent {self.sent}, will retry {self.retrying}, failed {self.failed}{skipped}"

    @property
    def warning(self) -> str:
        """What `flask outbox send` and `work` print when a claimed batch sent nothing; empty when all is well."""
        if not self.handed_back:
            return ""
        return (
            f"Warning: {plural(self.handed_back, 'message was', 'messages were')} claimed and handed back unsent: "
            "the lease "
            "(OUTBOX_LEASE_SECONDS) leaves no time to send before it ends. Check OUTBOX_LEASE_SECONDS and MAIL_TIMEOUT."
        )

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.skipped += other.skipped
        self.handed_back += other.handed_back

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.skipped


def is_permanent(error: Exception) -> bool:
    """A 5xx for the recipient, or an address the server cannot take, fails the same way tomorrow; not the rest."""
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPSenderRefused)
    return False


def record_failure(connection: Connection, row: OutboxMessage, error: Exception, now: datetime) -> bool:
    """Returns True if the message will be retried, False if it is now failed for good."""
    attempts = row.attempts + 1
    last_error = f"{type(error).__name__}: {error}"[:2000]
    changes: dict[str, Any] = {**_RELEASED, "attempts": attempts, "last_error": last_error}
    retrying = not (is_permanent(error) or attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"])
    if retrying:
        base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
        changes["due_at"] = now + timedelta(seconds=base * 2 ** (attempts - 1) * random.uniform(0.5, 1.5))
    else:
        changes.update(status="failed", failed_at=now)
    _change(connection, row, changes)
    return retrying


def temporary_answer(error: Exception) -> tuple[int, str] | None:
    """A 4xx answer as (code, enhanced status code), the part of it that is the same for every message it refuses.

    The text after the codes often names the recipient or the queue id, so it is left out of the comparison.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = {(code, _enhanced_status(text)) for code, text in error.recipients.values()}
        answer = answers.pop() if len(answers) == 1 else None
    elif isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_code, _enhanced_status(error.smtp_error)
    else:
        answer = None
    return answer if answer is not None and 400 <= answer[0] < 500 else None


_ENHANCED_STATUS = re.compile(r"\s*([245]\.\d{1,3}\.\d{1,3})\b")


def _enhanced_status(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = _ENHANCED_STATUS.match(text)
    return found.group(1) if found else ""


def record_outage(
    connection: Connection, row: OutboxMessage, error: Exception, now: datetime, what: str = "SMTP server unavailable"
) -> None:
    """The server could not be reached (down, refusing connections, timing out): not this message's attempt.

    Also what a relay that is up but answers every message of a batch with the same temporary refusal (a full
    spool's `451 4.3.0`) is: its trouble, not the messages'; `what` says which of the two it was.
    Its attempts stay as they were, so it never fails for it; it waits half as long again as it has waited so far,
    from OUTBOX_BACKOFF_SECONDS up to OUTBOX_OUTAGE_RETRY_SECONDS, and is tried for as long as the outage lasts.
    """
    config = current_app.config
    waited = (now - row.created_at).total_seconds()
    delay = min(
        max(config["OUTBOX_BACKOFF_SECONDS"], waited / 2) * random.uniform(0.5, 1.5),
        config["OUTBOX_OUTAGE_RETRY_SECONDS"],
    )
    last_error = f"{what} ({type(error).__name__}: {error})"[:2000]
    _change(connection, row, {**_RELEASED, "last_error": last_error, "due_at": now + timedelta(seconds=delay)})


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
    # The stored MIME message is what goes; the bodies it was built from load only if it is missing.
    mine = (
        select(OutboxMessage)
        .where(OutboxMessage.claimed_by == claim)
        .options(joinedload(OutboxMessage.content).load_only(OutboxContent.mime))
    )
    return list(db.session.scalars(mine.order_by(OutboxMessage.due_at, OutboxMessage.id)))


_RELEASED: dict[str, Any] = {"claimed_by": None, "lease_expires_at": None}

#: Built once: the statement the worker runs between two sends.
_MARK_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("row_id"))
    .values(status="sent", sent_at=bindparam("at"), claimed_by=None, lease_expires_at=None)
)


def mark_sent(connection: Connection, row: OutboxMessage, at: datetime) -> None:
    """One UPDATE by primary key, without the unit of work: this runs once per message, between two sends.

    It is the whole record of the send: the database's trigger writes the cancellation's timeline with it.
    """
    connection.execute(_MARK_SENT, {"row_id": row.id, "at": at})
    for name, value in {"status": "sent", "sent_at": at, **_RELEASED}.items():
        set_committed_value(row, name, value)  # the loaded row says what the database says, without being dirty


def _change(connection: Connection, row: OutboxMessage, changes: dict[str, Any]) -> None:
    """The rarer outcomes (a failure, a skip), also as one UPDATE on the batch's connection."""
    table = OutboxMessage.__table__
    connection.execute(update(table).where(table.c.id == row.id).values(**changes))
    for name, value in changes.items():
        set_committed_value(row, name, value)


def reason_not_to_send(connection: Connection, row: OutboxMessage) -> str:
    """Checked again just before sending: the customer may have opted out (or answered) since it was queued.

    Beyond the suppression list, a feature may have registered a check for the message's kind (see `hooks`).
    """
    if row.unsubscribe_url is not None and (suppression := suppressed_now(row.recipient, connection)) is not None:
        return skip_reason(suppression)
    check = send_check(row.kind)
    return check(row, connection) if check is not None else ""


def deliver_due(
    limit: int = 100, now: datetime | None = None, should_stop: Callable[[], bool] | None = None
) -> DeliveryReport:
    """Claims up to `limit` due messages and sends them over one connection, committing each as it goes.

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
    claimed = len(pending)
    with logged_run("outbox", "batch") as line:  # one line per batch, as a request has one
        line["claimed"] = claimed
        try:
            with batch_connection() as connection:
                _send_claimed(connection, pending, report, should_stop, now)
        finally:
            db.session.expire_all()  # the rows changed on the batch's connection: read them afresh when next used
            line.update(sent=report.sent, retrying=report.retrying, failed=report.failed, skipped=report.skipped)
        if not report.handled and not (should_stop is not None and should_stop()):
            report.handed_back = claimed
            log.warning(
                "Claimed %s and sent none before the lease margin; see OUTBOX_LEASE_SECONDS.",
                plural(claimed, "message", "messages"),
            )
    return report


@contextmanager
def batch_connection() -> Iterator[Connection]:
    """The batch's own database connection, held from its first message to its last, like its SMTP connection.

    It runs in autocommit mode: every write the worker makes is one statement by primary key (the sent mark, a
    failure, a skip), so each is its own transaction, committed when it returns, right after the server accepted
    the message. (The sent mark's trigger writes the timeline inside that same statement.) On PostgreSQL that is
    one round trip per message instead of BEGIN, the UPDATE and COMMIT; holding the connection saves the pool's
    check-out and ping before every message.

    On PostgreSQL these commits run with `synchronous_commit = off`: the commit that marks a message sent does not
    wait for the disk. (SQLite runs in WAL mode with `synchronous = NORMAL`, which is the same trade-off, for
    every connection: see feedback.db.) Why that keeps the promise:

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
    with db.engine.connect() as pooled:
        connection = pooled.execution_options(isolation_level="AUTOCOMMIT")
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
        try:
            yield connection
        finally:
            if postgresql:  # the connection goes back to the pool as it came, whatever happened
                connection.exec_driver_sql("RESET synchronous_commit")


def _send_claimed(
    connection: Connection,
    pending: list[OutboxMessage],
    report: DeliveryReport,
    should_stop: Callable[[], bool] | None,
    claimed_at: datetime,
) -> None:
    """Sends the claimed rows in order, one commit per message, doing the database's work while the server works.

    SMTP takes a message in steps: MAIL FROM, RCPT TO, DATA and the message itself commit the server to nothing;
    only the final dot that ends the message makes it accept it. So the suppression check of message k+1 runs
    while the server takes k's final dot, and k is marked sent (a statement committed as it returns) while k+1
    goes out up to its own final dot, which waits for that commit. At any moment at most one message can have
    been accepted by the server without being marked sent, exactly as when each message is recorded before the
    next begins, and the worker seldom waits for the database.
    """
    lease_ends = pending[0].lease_expires_at
    assert lease_ends is not None
    margin = timedelta(seconds=SEND_MARGIN_TIMEOUTS * current_app.config["MAIL_TIMEOUT"])
    envelope_from = sender_address()[1]

    #: Temporary refusals not yet written, kept while every message the server answered got this same one: if the
    #: whole batch does, it is the relay's trouble (a full spool), waited out like an outage (see `settle_held`).
    held: list[tuple[OutboxMessage, Exception]] = []
    answered = 0

    def record(row: OutboxMessage, refused: Exception | None) -> None:
        nonlocal answered
        answer = None if refused is None else temporary_answer(refused)
        unanimous = len(held) == answered and (not held or temporary_answer(held[0][1]) == answer)
        answered += 1
        if refused is not None and answer is not None and unanimous:
            held.append((row, refused))
            return
        count_held()  # another answer came: those were the messages' own refusals after all
        if refused is None:
            mark_sent(connection, row, utcnow())
            report.sent += 1
        else:
            count_attempt(row, refused)

    def count_attempt(row: OutboxMessage, refused: Exception) -> None:
        _count(report, record_failure(connection, row, refused, utcnow()))

    def count_held() -> None:
        while held:
            count_attempt(*held.pop(0))

    def settle_held() -> None:
        """One message refused proves nothing about the relay; two or more, all alike and nothing else, do."""
        if len(held) < 2:
            count_held()
            return
        log.warning(
            "The SMTP server refused all %s alike, taken as its outage: %s",
            plural(len(held), "message", "messages"),
            held[0][1],
        )
        for row, refused in held:
            record_outage(connection, row, refused, max(claimed_at, utcnow()), "SMTP server refused every message")
            report.retrying += 1
        held.clear()

    def postpone(row: OutboxMessage, unavailable: Exception) -> None:
        record_outage(connection, row, unavailable, max(claimed_at, utcnow()))  # the pass's clock, if given one
        report.retrying += 1

    #: The message the server was taking when the connection broke: the one outcome of an outage that counts.
    interrupted: OutboxMessage | None = None

    with database_work(connection) as run:
        recorded: Future[None] = run(lambda: None)  # the last outcome handed to the database, being written
        #: The last message's outcome, known but not yet handed over: (row, None) if the server accepted it.
        last: list[tuple[OutboxMessage, Exception | None]] = []

        def hand_over_last() -> None:
            nonlocal recorded
            while last:
                _settled(recorded)  # every outcome is written, or its failure stops the batch: none is lost
                recorded = run(record, *last.pop())

        #: Taken from `pending` and not yet sent, refused or skipped: they go back if the batch ends early.
        in_hand: list[OutboxMessage] = []

        def may_go_on() -> bool:
            return not (should_stop is not None and should_stop()) and utcnow() + margin < lease_ends

        def take_next() -> tuple[OutboxMessage, Future[str]] | None:
            """The next message, if it may still start, with its suppression check under way."""
            if not pending or not may_go_on():
                return None
            row = pending.pop(0)
            in_hand.append(row)
            return row, run(reason_not_to_send, connection, row)

        upcoming = take_next()
        try:
            with open_sender() as sender:
                # Asked again before each message: a stop may come while the server takes the last one's dot.
                while upcoming is not None and may_go_on():
                    (row, check), upcoming = upcoming, None
                    steps: Iterator[None] | None = None
                    try:
                        return_path = envelope_sender(row.id) or envelope_from
                        steps = sender.sending(return_path, row.recipient, as_sent(row, utcnow()))
                        next(steps)  # MAIL FROM is on its way...
                        hand_over_last()  # ...while the last message's outcome is written
                        if reason := _settled(check):
                            steps.close()  # RSET
                            in_hand.remove(row)
                            _settled(run(_skip, connection, row, reason, report))
                            upcoming = take_next()
                            continue
                        next(steps)  # the message is out, all but its final dot
                        _settled(recorded)  # the last message is marked sent before this one can be accepted
                        next(steps)  # the final dot is on its way...
                        upcoming = take_next()  # ...while the next message is checked
                        for _ in steps:  # accepted
                            pass
                    except smtplib.SMTPServerDisconnected:
                        interrupted = row
                        raise  # the connection is gone: this message counts an attempt, the rest wait it out
                    except (smtplib.SMTPException, ValueError) as error:  # refused: this message only
                        last.append((row, error))
                    except OSError:  # the socket failed (SMTPException is an OSError too, so this comes after it)
                        interrupted = row
                        raise
                    else:
                        last.append((row, None))
                    finally:
                        if steps is not None:
                            steps.close()  # left half-way when the batch fails: closed now, not by the collector
                    in_hand.remove(row)
                    upcoming = upcoming or take_next()
        except (OSError, smtplib.SMTPException) as unavailable:
            hand_over_last()
            pending[:0] = in_hand
            in_hand.clear()
            log.warning(
                "SMTP unavailable, %s will be retried: %s", plural(len(pending), "message", "messages"), unavailable
            )
            for row in pending:
                _settled(run(count_attempt if row is interrupted else postpone, row, unavailable))
            pending.clear()
        finally:
            hand_over_last()
            _settled(recorded)
            _settled(run(settle_held))
        pending[:0] = in_hand  # taken, then the worker was asked to stop: never started
        if pending:  # stopped early: give the rest back now rather than when the lease ends
            table = OutboxMessage.__table__
            ids = [row.id for row in pending]
            run(connection.execute, update(table).where(table.c.id.in_(ids)).values(**_RELEASED)).result()


@contextmanager
def database_work(connection: Connection) -> Iterator[Callable[..., Future[Any]]]:
    """Runs the batch's database statements, in order: on PostgreSQL in a thread of their own, else right away.

    PostgreSQL answers over a socket, so a thread lets it and the SMTP server work at once; SQLite works in this
    process, where a second thread would only wait for the first one's turn. Every statement on the batch's
    connection goes through here, so that connection is only ever used from one thread.
    """
    if connection.dialect.name != "postgresql":
        yield _run_now
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # The thread's statements read the configuration (retry limits, backoff) as the worker's do.
    with ThreadPoolExecutor(1, "outbox-db", initializer=lambda: app.app_context().push()) as executor:
        yield executor.submit


class DatabaseWorkFailed(Exception):
    """A statement of the batch failed: the batch stops, and what it holds is taken again when its lease ends."""


def _settled(work: Future[Any]) -> Any:
    """The statement's result; its failure is the database's, never counted as this message's refusal."""
    try:
        return work.result()
    except Exception as error:
        raise DatabaseWorkFailed(str(error)) from error


def _run_now(work: Callable[..., Any], *args: Any) -> Future[Any]:
    done: Future[Any] = Future()
    try:
        done.set_result(work(*args))
    except BaseException as error:  # handed over as a thread's would be, and raised by result()
        done.set_exception(error)
    return done


def _skip(connection: Connection, row: OutboxMessage, reason: str, report: DeliveryReport) -> None:
    _change(connection, row, {"status": "skipped", "last_error": reason, **_RELEASED})
    report.skipped += 1


def _count(report: DeliveryReport, retrying: bool) -> None:
    if retrying:
        report.retrying += 1
    else:
        report.failed += 1
