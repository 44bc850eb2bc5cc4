"""The worker's side: claims due deliveries (leased, SKIP LOCKED on PostgreSQL), posts them, records each attempt.

A delivery is committed as delivered right after its receiver's 2xx, so a worker killed mid-batch repeats at most
the one in flight, with the same webhook-id; the rest of its batch is taken again once the lease runs out.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select, update
from sqlalchemy.orm import joinedload
from standardwebhooks.webhooks import Webhook

from feedback.db import utcnow
from feedback.events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from feedback.events.payload import body_for
from feedback.events.sending import Clients, post
from feedback.events.trouble import disable
from feedback.extensions import db

log = logging.getLogger(__name__)

#: The Standard Webhooks schedule: the first attempt at once, then after each failure wait the next of these.
SCHEDULE = (timedelta(0),) + tuple(
    timedelta(seconds=s) for s in (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
)
#: An endpoint that has failed everything this long is disabled, and the admins are told once.
FAILING_LIMIT = timedelta(days=5)


@dataclass
class EventsReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    #: Endpoints disabled in this pass (a 410, or five days of failures).
    disabled: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.retrying + self.failed

    def __str__(self) -> str:
        disabled = f", endpoints disabled {self.disabled}" if self.disabled else ""
        return f"delivered {self.delivered}, will retry {self.retrying}, failed {self.failed}{disabled}"


def claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        Delivery.status == "queued",
        Delivery.due_at <= now,
        or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at <= now),
    )


def claim_batch(limit: int, now: datetime) -> list[Delivery]:
    """Marks up to `limit` due deliveries to enabled endpoints as ours, committed before any is posted.

    As for the outbox: the candidates are locked with FOR UPDATE SKIP LOCKED on PostgreSQL (two workers take
    different rows), and the conditional UPDATE re-checks them; SQLite serialises writers.
    """
    claim = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
    lease_ends = now + timedelta(seconds=current_app.config["WEBHOOK_LEASE_SECONDS"])
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.disabled_at.is_(None))
    candidates = (
        select(Delivery.id)
        .where(claimable(now), Delivery.endpoint_id.in_(enabled))
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(candidates))
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), claimable(now))
        .values(claimed_by=claim, lease_expires_at=lease_ends)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    mine = (
        select(Delivery)
        .where(Delivery.claimed_by == claim)
        .options(joinedload(Delivery.event), joinedload(Delivery.endpoint))
        .order_by(Delivery.due_at, Delivery.id)
    )
    return list(db.session.scalars(mine))


def headers_for(webhook_id: str, secret: str | None, body: bytes, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; the id is the delivery's own, the timestamp and signature this attempt's."""
    headers = {
        "content-type": "application/json",
        "user-agent": "Farewell-Webhooks/1",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
    }
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(webhook_id, at, body.decode())
    return headers


@dataclass
class Pending:
    """A claimed delivery as the loop needs it, read once: posting and recording touch no ORM object."""

    id: int
    webhook_id: str
    attempts: int
    lease_expires_at: datetime
    endpoint_id: int
    url: str
    secret: str | None
    body: bytes


@dataclass
class EndpointState:
    """An endpoint's failure clock within one batch, written back only when it changes."""

    failing_since: datetime | None
    enabled: bool = True


def deliver_due(
    limit: int = 50, now: datetime | None = None, should_stop: Callable[[], bool] | None = None
) -> EventsReport:
    """Claims up to `limit` due deliveries and posts them one by one, committing each outcome as it comes.

    The bodies are built once, from the rows as claimed; each outcome (the attempt's row, the delivery's new
    state, the endpoint's failure clock) is one short transaction on the batch's own connection.
    """
    report = EventsReport()
    now = now or utcnow()
    claimed = claim_batch(limit, now)
    if not claimed:
        return report
    pending = [
        Pending(
            d.id, d.webhook_id, d.attempts, d.lease_expires_at or now, d.endpoint_id, d.endpoint.url,
            d.endpoint.secret, body_for(d.event, d.endpoint),
        )
        for d in claimed
    ]  # fmt: skip
    endpoints = {d.endpoint_id: EndpointState(d.endpoint.failing_since) for d in claimed}
    db.session.commit()  # ends the read; the rows change on the batch's connection from here
    timeout = float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    clients = Clients(timeout)
    try:
        with db.engine.connect() as connection:
            for item in pending:
                endpoint = endpoints[item.endpoint_id]
                stopping = should_stop is not None and should_stop()
                if stopping or not endpoint.enabled or _lease_too_short(item, timeout):
                    _release(connection, item)
                    continue
                reason = attempt(connection, clients, item, endpoint, report, now)
                if reason:
                    endpoint.enabled = False
                    report.disabled += disable(item.endpoint_id, item.url, reason)
                    db.session.commit()
    finally:
        clients.close()
        db.session.expire_all()
    return report


def _lease_too_short(item: Pending, timeout: float) -> bool:
    """Never start a POST that could outlast the lease: another worker could take the delivery meanwhile."""
    return item.lease_expires_at - utcnow() < timedelta(seconds=2 * timeout + 5)


_DELIVERIES = Delivery.__table__
_ATTEMPTS = DeliveryAttempt.__table__
_ENDPOINTS = WebhookEndpoint.__table__


def _release(connection: Connection, item: Pending) -> None:
    with connection.begin():
        connection.execute(
            update(_DELIVERIES).where(_DELIVERIES.c.id == item.id).values(claimed_by=None, lease_expires_at=None)
        )


def attempt(
    connection: Connection,
    clients: Clients,
    item: Pending,
    endpoint: EndpointState,
    report: EventsReport,
    now: datetime,
) -> str:
    """One POST of one delivery and what follows from its answer, committed together; returns why the endpoint
    must now be disabled ("" if not)."""
    signed_at = utcnow()  # the receiver checks the timestamp against its own clock
    answer = post(clients, item.url, item.body, headers_for(item.webhook_id, item.secret, item.body, signed_at))
    at = max(now, signed_at)  # the pass's clock, which tests move on, for the schedule and the five days
    attempts = item.attempts + 1
    changes: dict[str, object] = {"attempts": attempts, "claimed_by": None, "lease_expires_at": None}
    was_failing = endpoint.failing_since
    disable_because = ""
    if answer.delivered:
        changes.update(status="delivered", delivered_at=at, last_error="")
        endpoint.failing_since = None
        report.delivered += 1
    else:
        changes["last_error"] = answer.error or f"HTTP {answer.status_code}: {answer.body[:200]}"
        if answer.retry and attempts < len(SCHEDULE):
            changes["due_at"] = at + SCHEDULE[attempts]
            report.retrying += 1
        else:
            changes.update(status="failed", failed_at=at)
            report.failed += 1
        endpoint.failing_since = endpoint.failing_since or at
        if answer.status_code == 410:
            disable_because = "The receiver answered 410 Gone: it no longer wants these events."
        elif at - endpoint.failing_since >= FAILING_LIMIT:
            disable_because = "Every delivery failed for five days."
    with connection.begin():
        connection.execute(
            insert(_ATTEMPTS).values(
                delivery_id=item.id,
                at=at,
                status_code=answer.status_code,
                duration_ms=answer.duration_ms,
                error=answer.error,
                response_body=answer.body,
            )
        )
        connection.execute(update(_DELIVERIES).where(_DELIVERIES.c.id == item.id).values(**changes))
        if endpoint.failing_since != was_failing:
            connection.execute(
                update(_ENDPOINTS)
                .where(_ENDPOINTS.c.id == item.endpoint_id)
                .values(failing_since=endpoint.failing_since)
            )
    return disable_because


def deliver_all(
    batch: int = 50, should_stop: Callable[[], bool] | None = None, now: datetime | None = None
) -> EventsReport:
    """Batch after batch until nothing is due, or a stop is asked for: a worker's pass, `flask webhooks deliver`."""
    total = EventsReport()
    while not (should_stop and should_stop()):
        report = deliver_due(limit=batch, now=now, should_stop=should_stop)
        for name in ("delivered", "retrying", "failed", "disabled"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.handled < batch:
            break
    return total
