"""POST /webhooks/stripe, /paddle, /chargebee, /cancellations and /inbound/mailgun: signature first, then act once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from feedback.api.serialize import cancellation_json
from feedback.cancellations.operations import InvalidCancellation
from feedback.customers.intake import record_cancellation
from feedback.errors import Problem, limit_body
from feedback.extensions import csrf
from feedback.inputs.text import CONTROLS
from feedback.webhooks import mailgun
from feedback.webhooks.chargebee import CHARGEBEE_EVENTS, chargebee_event
from feedback.webhooks.operations import STRIPE_EVENTS, NoOwner, process_once, stripe_subscription_event
from feedback.webhooks.paddle import PADDLE_EVENTS, paddle_event
from feedback.webhooks.shapes import MalformedEvent
from feedback.webhooks.signatures import (
    BadSignature,
    basic_credentials_match,
    verify_paddle,
    verify_standard,
    verify_stripe,
)

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(blueprint)  # signed by the sender instead

blueprint.before_request(limit_body)


def _secret(name: str) -> str:
    secret = current_app.config[name]
    if not secret:
        raise Problem(503, f"{name} is not set, so Farewell can't verify these webhooks yet.")
    return secret


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object.")
    return body


def _event_id_ok(event_id: str) -> bool:
    """It is stored, to answer a redelivery once: it must fit its column, and PostgreSQL refuses NUL."""
    return 0 < len(event_id) <= 255 and not CONTROLS.search(event_id)


def _answer(cancellation: Any, first: bool) -> Response:
    document = {"received": True, "duplicate": not first}
    if cancellation is not None:
        document["cancellation"] = cancellation_json(cancellation)
    response = jsonify(document)
    response.status_code = 201 if first else 200
    return response


@blueprint.post("/stripe")
def stripe() -> Response:
    secret = _secret("STRIPE_WEBHOOK_SECRET")
    raw = request.get_data(cache=True)
    try:
        verify_stripe(raw, request.headers.get("Stripe-Signature", ""), secret)
    except BadSignature as error:
        raise Problem(400, str(error)) from None
    event = _parse(raw)
    if event.get("type") not in STRIPE_EVENTS:
        return jsonify({"received": True, "ignored": str(event.get("type"))})
    data = event.get("data")
    if not isinstance(event.get("id"), str) or not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise Problem(400, "The event has no id or no data.object.")
    if not _event_id_ok(event["id"]):
        raise Problem(400, "The event id must be 1 to 255 printable characters.")
    acted = _act("Stripe", lambda: stripe_subscription_event(event))
    if acted is None:
        return jsonify({"received": True, "ignored": f"{event['type']}: nothing about cancelling changed"})
    return _answer(*acted)


def _act(vendor: str, act: Callable[[], Any]) -> Any:
    """Runs a billing event's change, each failure told as the vendor's retries need it."""
    try:
        return act()
    except MalformedEvent as error:
        raise Problem(400, f"The event is not shaped as {vendor} sends it: {error}") from None
    except NoOwner:
        raise Problem(503, f"No active staff member can own this cancellation; add one, {vendor} will retry.") from None
    except InvalidCancellation as invalid:
        raise Problem(422, "The event could not be logged.", invalid.errors) from None


@blueprint.post("/paddle")
def paddle() -> Response:
    """Paddle Billing's notifications, signed `Paddle-Signature: ts=…;h1=…` with the destination's secret key."""
    secret = _secret("PADDLE_WEBHOOK_SECRET")
    raw = request.get_data(cache=True)
    try:
        verify_paddle(raw, request.headers.get("Paddle-Signature", ""), secret)
    except BadSignature as error:
        raise Problem(400, str(error)) from None
    event = _parse(raw)
    if event.get("event_type") not in PADDLE_EVENTS:
        return jsonify({"received": True, "ignored": str(event.get("event_type"))})
    if not isinstance(event.get("event_id"), str) or not _event_id_ok(event["event_id"]):
        raise Problem(400, "The event's event_id must be 1 to 255 printable characters.")
    acted = _act("Paddle", lambda: paddle_event(event))
    if acted is None:
        return jsonify({"received": True, "ignored": f"{event['event_type']}: nothing about cancelling changed"})
    return _answer(*acted)


@blueprint.post("/chargebee")
def chargebee() -> Response:
    """Chargebee's webhooks, sent with the HTTP Basic credentials its webhook settings hold."""
    username = current_app.config["CHARGEBEE_WEBHOOK_USERNAME"]
    password = current_app.config["CHARGEBEE_WEBHOOK_PASSWORD"]
    if not username or not password:
        raise Problem(
            503,
            "CHARGEBEE_WEBHOOK_USERNAME and CHARGEBEE_WEBHOOK_PASSWORD are not set, so Farewell can't check these "
            "webhooks yet.",
        )
    if not basic_credentials_match(request.headers.get("Authorization", ""), username, password):
        raise Problem(
            401,
            "Send the user name and password set in Chargebee's webhook settings (HTTP Basic).",
            headers={"WWW-Authenticate": 'Basic realm="Farewell webhooks"'},
        )
    event = _parse(request.get_data(cache=True))
    if event.get("event_type") not in CHARGEBEE_EVENTS:
        return jsonify({"received": True, "ignored": str(event.get("event_type"))})
    if not isinstance(event.get("id"), str) or not _event_id_ok(event["id"]):
        raise Problem(400, "The event's id must be 1 to 255 printable characters.")
    return _answer(*_act("Chargebee", lambda: chargebee_event(event)))


@blueprint.post("/cancellations")
def cancellations() -> Response:
    """The API's cancellation body, signed per Standard Webhooks; the webhook-id makes it idempotent."""
    secret = _secret("WEBHOOK_SECRET")
    raw = request.get_data(cache=True)
    webhook_id = request.headers.get("webhook-id", "")
    try:
        verify_standard(
            raw,
            webhook_id,
            request.headers.get("webhook-timestamp", ""),
            request.headers.get("webhook-signature", ""),
            secret,
        )
    except BadSignature as error:
        raise Problem(400, str(error)) from None
    if not _event_id_ok(webhook_id):
        raise Problem(400, "webhook-id must be at most 255 characters.")
    body = _parse(raw)
    try:
        cancellation, first = process_once("standard", webhook_id, lambda: record_cancellation(body, source="webhook"))
    except InvalidCancellation as invalid:
        raise Problem(422, "Nothing was logged; fix the fields listed in errors.", invalid.errors) from None
    return _answer(cancellation, first)


@blueprint.post("/inbound/mailgun")
@blueprint.post("/inbound/mailgun/mime")  # Mailgun posts the raw message only to a URL that ends in "mime"
def inbound_mailgun() -> Response:
    """A customer's reply or a bounce, as Mailgun's inbound route posts it (raw MIME in body-mime)."""
    return mailgun.receive(_secret("MAILGUN_SIGNING_KEY"))
