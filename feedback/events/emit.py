"""Recording events: features call `emit` inside their own transaction and never talk to a receiver."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select, update

from feedback.db import utcnow
from feedback.events.catalogue import COMING, EVENTS, PAYLOAD_VERSION
from feedback.events.models import Delivery, Event, WebhookEndpoint
from feedback.extensions import db


class UnknownEvent(ValueError):
    """An event type missing from the catalogue: a typo that would send receivers something undocumented."""


def emit(event_type: str, data: dict[str, Any], *, answers: Any = None, cancellation_id: int | None = None) -> Event:
    """Stores the event and one delivery per enabled endpoint that hears it; flushes, never commits.

    `data` holds ids, links and facts; `answers` the customer's own words, which only endpoints with
    include_answers receive. The caller's commit sends them all, its rollback none.
    """
    return emit_all([(event_type, data, answers, cancellation_id)])[0]


def emit_all(events: list[tuple[str, dict[str, Any], Any, int | None]]) -> list[Event]:
    """Many (type, data, answers, cancellation_id) at once, as an import logs them: one look at the endpoints."""
    now = utcnow()
    endpoints = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))).all()
    made = []
    for event_type, data, answers, cancellation_id in events:
        if event_type not in EVENTS:
            raise UnknownEvent(f"{event_type} is not in the event catalogue")
        event = Event(
            type=event_type,
            version=PAYLOAD_VERSION,
            created_at=now,
            cancellation_id=cancellation_id,
            data=data,
            answers=answers,
        )
        db.session.add(event)
        made.append(event)
        for endpoint in endpoints:
            if endpoint.hears(event_type):
                db.session.add(
                    Delivery(event=event, endpoint=endpoint, webhook_id=new_webhook_id(), created_at=now, due_at=now)
                )
    db.session.flush()
    return made


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def emitted_types() -> list[str]:
    """What features emit today: the catalogue less what is documented as coming."""
    return [name for name in EVENTS if name not in COMING]


#: Keys of an event's data that say nothing about a person and survive an erasure.
_ANONYMOUS_KEYS = ("cancellation_id", "action_item_id", "review_id", "summary_id", "reply_id", "links")


def forget(cancellation_ids: list[int]) -> int:
    """An erasure: the events about these cancellations keep only their ids and links; what was not yet sent
    about them is dropped. Returns how many events were emptied. Flushes."""
    if not cancellation_ids:
        return 0
    events = db.session.scalars(
        select(Event).where(Event.cancellation_id.in_(cancellation_ids), Event.erased_at.is_(None))
    ).all()
    now = utcnow()
    for event in events:
        event.data = {key: event.data[key] for key in _ANONYMOUS_KEYS if key in event.data} | {"erased": True}
        event.answers = None
        event.erased_at = now
    if events:
        db.session.execute(
            update(Delivery)
            .where(Delivery.event_id.in_([event.id for event in events]), Delivery.status == "queued")
            .values(status="dropped", last_error="Not sent: the customer's personal data was erased.")
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    return len(events)
