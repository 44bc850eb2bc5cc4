"""Queueing a fetch when a cancellation is logged, running it with back-off, and keeping what it found."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, insert, select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.helpdesk.configured import LABELS, configured, connector_for
from feedback.helpdesk.connector import Found
from feedback.helpdesk.http import HelpdeskError
from feedback.helpdesk.models import MAX_KEPT, Conversation, HelpdeskFetch
from feedback.postmortem.models import Cancellation, Customer

#: Wait after the 1st, 2nd, … failed attempt: about a day in all, then the fetch gives up (issue 26, item 2).
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=15),
)
GIVE_UP_AFTER = timedelta(days=1)


def queue_fetch(cancellation: Cancellation, now: datetime | None = None) -> HelpdeskFetch | None:
    """Asks the worker to read the customer's conversations; inside the caller's transaction, never a request.

    Nothing when no help desk is configured or the customer has no address yet. A fetch already waiting is moved
    up to now (the database keeps one queued per cancellation).
    """
    desk = configured()
    if desk is None or not cancellation.customer_email or cancellation.erased_at is not None:
        return None
    now = now or utcnow()
    waiting = None
    if cancellation.id is not None:
        waiting = db.session.scalar(
            select(HelpdeskFetch).where(
                HelpdeskFetch.cancellation_id == cancellation.id, HelpdeskFetch.state == "queued"
            )
        )
    if waiting is not None:
        waiting.due_at = min(waiting.due_at, now)
        return waiting
    fetch = HelpdeskFetch(cancellation=cancellation, source=desk.name, created_at=now, due_at=now)
    db.session.add(fetch)
    return fetch


def queue_fetches(cancellations: list[Cancellation]) -> int:
    """An import's batch, flushed: one fetch per new cancellation with an address, in one INSERT."""
    desk = configured()
    if desk is None:
        return 0
    now = utcnow()
    rows = [
        {"cancellation_id": c.id, "source": desk.name, "state": "queued", "attempts": 0, "created_at": now,
         "due_at": now, "last_error": "", "outcome": ""}
        for c in cancellations
        if c.customer_email and c.id is not None
    ]  # fmt: skip
    if rows:
        db.session.execute(insert(HelpdeskFetch), rows)
    return len(rows)


def due_fetches(now: datetime, limit: int) -> list[HelpdeskFetch]:
    return list(
        db.session.scalars(
            select(HelpdeskFetch)
            .where(HelpdeskFetch.state == "queued", HelpdeskFetch.due_at <= now)
            .order_by(HelpdeskFetch.due_at, HelpdeskFetch.id)
            .limit(limit)
        )
    )


def run_fetch(fetch: HelpdeskFetch, now: datetime) -> str:
    """One attempt: keeps what the help desk answered, or schedules the next try, or gives up with a note.

    The caller commits. Whatever the help desk answers, this raises nothing but database errors.
    """
    cancellation = fetch.cancellation
    label = LABELS.get(fetch.source, fetch.source)
    fetch.attempts += 1
    if cancellation.erased_at is not None or not cancellation.customer_email or cancellation.customer is None:
        return _finish(fetch, now, "done", "Nothing to read: the customer has no address any more.")
    connector = connector_for(fetch.source)
    if connector is None:
        return _finish(fetch, now, "failed", f"{label} is no longer configured; nothing was read.")
    since = cancellation.cancelled_at - timedelta(days=current_app.config["HELPDESK_LOOKBACK_DAYS"])
    try:
        found = list(connector.conversations(cancellation.customer_email, since))
    except HelpdeskError as error:
        return _failed(fetch, now, label, error)
    finally:
        connector.close()
    kept = keep(cancellation.customer, fetch.source, found, now)
    words = f"{len(found)} conversation{'' if len(found) == 1 else 's'}"
    cancellation.record("helpdesk", f"{label}: {words} read from the help desk.", at=now)
    fetch.last_error = ""
    return _finish(fetch, now, "done", f"{words} kept" if kept else "no conversations found")


def _failed(fetch: HelpdeskFetch, now: datetime, label: str, error: HelpdeskError) -> str:
    fetch.last_error = error.message
    wait = BACKOFF[min(fetch.attempts, len(BACKOFF)) - 1]
    if error.retry_after is not None:
        wait = max(wait, timedelta(seconds=min(error.retry_after, GIVE_UP_AFTER.total_seconds())))
    next_try = now + wait
    if error.retry and fetch.attempts <= len(BACKOFF) and next_try <= fetch.created_at + GIVE_UP_AFTER:
        fetch.due_at = next_try
        return f"{error.message} Trying again at {next_try:%H:%M} UTC."
    if error.retry:
        note = f"{label} could not be reached; tried {fetch.attempts} time{'s' if fetch.attempts > 1 else ''}."
        note += f" Last: {error.message}"
    else:
        note = f"{error.message} No conversations were read."
    fetch.cancellation.record("helpdesk", note, at=now)
    return _finish(fetch, now, "failed", note)


def _finish(fetch: HelpdeskFetch, now: datetime, state: str, outcome: str) -> str:
    fetch.state = state
    fetch.finished_at = now
    fetch.outcome = outcome
    return outcome


#: What a found conversation writes over its kept row.
WRITTEN = (
    "url", "subject", "status", "channel", "opened_at", "solved_at", "replies", "satisfaction", "tags",
    "opening_message", "opened_by_customer",
)  # fmt: skip


def keep(customer: Customer, source: str, found: list[Found], now: datetime) -> int:
    """Writes each found conversation over the one with its id, then keeps the customer's MAX_KEPT newest."""
    existing = {
        c.external_id: c
        for c in db.session.scalars(
            select(Conversation).where(Conversation.customer_id == customer.id, Conversation.source == source)
        )
    }
    for item in found:
        row = existing.get(item.external_id)
        if row is None:
            row = existing[item.external_id] = Conversation(customer=customer, source=source)
            db.session.add(row)
        _write(row, item, now)
    db.session.flush()
    trim(customer.id)
    return len(found)


def put_one(customer: Customer, item: Found, now: datetime) -> tuple[Conversation, bool]:
    """One conversation from the API (any other help desk): created, or written over the one with its id."""
    row = db.session.scalar(
        select(Conversation).where(
            Conversation.customer_id == customer.id,
            Conversation.source == "api",
            Conversation.external_id == item.external_id,
        )
    )
    created = row is None
    if row is None:
        row = Conversation(customer=customer, source="api")
        db.session.add(row)
    _write(row, item, now)
    db.session.flush()
    trim(customer.id)
    return row, created


def _write(row: Conversation, item: Found, now: datetime) -> None:
    row.external_id = item.external_id
    for name in WRITTEN:
        setattr(row, name, getattr(item, name))
    row.fetched_at = now


def trim(customer_id: int) -> None:
    """Past MAX_KEPT, the oldest conversations of the customer go."""
    keep_ids = select(Conversation.id).where(Conversation.customer_id == customer_id)
    keep_ids = keep_ids.order_by(Conversation.opened_at.desc(), Conversation.id.desc()).limit(MAX_KEPT)
    db.session.execute(
        delete(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.id.not_in(keep_ids.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
