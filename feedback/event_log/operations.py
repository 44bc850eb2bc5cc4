"""Adding, removing, enabling endpoints and replaying deliveries: one operation each, for the page and the CLI,
each recorded in the audit trail."""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import select

from feedback import audit
from feedback.db import utcnow
from feedback.events.catalogue import EVENTS, KINDS, MESSAGE_EVENTS
from feedback.events.models import Delivery, WebhookEndpoint
from feedback.events.safety import UnsafeURL, check_url
from feedback.extensions import db


class InvalidEndpoint(ValueError):
    """What is wrong with a new endpoint, in words for the form and the CLI."""


class CannotReplay(ValueError):
    """Why a delivery cannot go again now."""


def new_secret() -> str:
    """24 random bytes, as Standard Webhooks writes secrets: whsec_ and base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_endpoint(
    url: str, kind: str = "standard", events: list[str] | None = None, include_answers: bool = False
) -> WebhookEndpoint:
    """Checks and stores a new endpoint; a standard one gets its signing secret here. Flushes."""
    url = url.strip()
    if kind not in KINDS:
        raise InvalidEndpoint(f"Choose a kind among {', '.join(KINDS)}.")
    try:
        check_url(url)
    except UnsafeURL as refused:
        raise InvalidEndpoint(str(refused)) from None
    if len(url) > 2000:
        raise InvalidEndpoint("The URL is longer than 2,000 characters.")
    chosen = list(dict.fromkeys(events or []))
    unknown = [name for name in chosen if name not in EVENTS]
    if unknown:
        raise InvalidEndpoint(f"Unknown event(s): {', '.join(unknown)}. See `flask webhooks list --events`.")
    silent = [name for name in chosen if kind != "standard" and name not in MESSAGE_EVENTS]
    if silent:
        heard = ", ".join(sorted(MESSAGE_EVENTS))
        raise InvalidEndpoint(f"A {kind} endpoint has no message for {', '.join(silent)}; it can hear {heard}.")
    endpoint = WebhookEndpoint(
        url=url,
        kind=kind,
        events=chosen,
        include_answers=include_answers,
        secret=new_secret() if kind == "standard" else None,
        created_at=utcnow(),
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.add", endpoint, f"{kind} endpoint {url}" + (", with answers" if include_answers else ""))
    return endpoint


def remove_endpoint(endpoint: WebhookEndpoint) -> None:
    """Its deliveries and their attempts go with it; the events stay, for polling and other endpoints."""
    audit.record("webhook.remove", endpoint, endpoint.url)
    db.session.delete(endpoint)
    db.session.flush()


def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    """Back on after a fix: what was queued for it meanwhile goes now, and its five days start again."""
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failing_since = None
    audit.record("webhook.enable", endpoint, endpoint.url)
    db.session.flush()


def replay(delivery: Delivery) -> None:
    """The delivery goes again, as soon as the worker runs, with the same webhook-id; attempts start from zero."""
    if delivery.status == "dropped":
        raise CannotReplay("It was dropped when the customer it was about was erased; it never goes.")
    if delivery.status == "queued":
        raise CannotReplay("It is already waiting to go.")
    if not delivery.endpoint.enabled:
        raise CannotReplay("Its endpoint is disabled: enable it first.")
    delivery.status = "queued"
    delivery.attempts = 0
    delivery.delivered_at = None
    delivery.failed_at = None
    delivery.due_at = utcnow()
    delivery.claimed_by = None
    delivery.lease_expires_at = None
    audit.record("webhook.replay", delivery, f"{delivery.webhook_id} to {delivery.endpoint.url}")
    db.session.flush()


def all_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
