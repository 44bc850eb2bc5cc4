"""The JSON API at /api/v1: thin views over the operations the web form and the CLI use."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from sqlalchemy import func, select

from feedback.actions.models import STATUSES as STATUSES_OF_ITEMS
from feedback.actions.models import ActionItem
from feedback.actions.operations import InvalidActionItem, listed_items, today_utc, update_item
from feedback.api.action_items import WRITABLE, action_item_json
from feedback.api.conversations import conversation_from, conversation_json
from feedback.api.events import MAX_LIMIT, events_after
from feedback.api.idempotency import Result, request_fingerprint, run_once
from feedback.api.insights import insights_json
from feedback.api.openapi import openapi_document
from feedback.api.scopes import required_scope, requires_scope
from feedback.api.serialize import cancellation_json
from feedback.api.tokens import authenticate
from feedback.auth.models import User
from feedback.cancellations.operations import InvalidCancellation, listed_with
from feedback.customers.intake import record_cancellation
from feedback.customers.operations import FIELDS, InvalidCustomer, clean_customer, customer_json, upsert_customer
from feedback.db import utcnow
from feedback.errors import Problem, limit_body
from feedback.extensions import csrf, db
from feedback.helpdesk.operations import put_one
from feedback.insights.filters import InvalidFilter, parse_filter
from feedback.insights.queries import report
from feedback.postmortem.models import STATES, Cancellation, Customer

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)  # bearer tokens, not cookies: there is no session to forge requests with

MAX_ID = 2**31 - 1
#: RFC 3339's full-date and date-time, the OpenAPI formats `date` and `date-time` (Python reads more than these).
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
MAX_PAGE = 100_000
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="Farewell API"'}


@blueprint.before_request
def authenticate_request() -> None:
    limit_body()
    if request.endpoint == "api.openapi":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Send an API token: Authorization: Bearer TOKEN.", headers=UNAUTHORIZED)
    g.api_token = authenticate(token.strip())
    db.session.commit()  # the token's last use, whatever the request goes on to do
    if g.api_token is None:
        headers = {"WWW-Authenticate": UNAUTHORIZED["WWW-Authenticate"] + ', error="invalid_token"'}
        raise Problem(401, "This API token is unknown or was revoked.", headers=headers)
    check_scope(g.api_token.scopes)


def check_scope(held: list[str]) -> None:
    """403 naming the scope the operation needs (RFC 6750's insufficient_scope). A view that declares none is
    refused to every token: forgetting the mark closes a route rather than opening it."""
    needed = required_scope(current_app.view_functions.get(request.endpoint or ""))
    if needed is None:
        raise Problem(403, "This operation declares no scope, so no token may use it.")
    if needed not in held:
        headers = {
            "WWW-Authenticate": UNAUTHORIZED["WWW-Authenticate"] + f', error="insufficient_scope", scope="{needed}"'
        }
        raise Problem(
            403,
            f"This API token lacks the scope {needed}; create a token with it (Admin → API tokens).",
            headers=headers,
            members={"required_scope": needed},
        )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json() -> dict[str, Any]:
    """The body as a JSON object: 415 for another media type, 400 for malformed JSON, 413 when too large."""
    if not request.is_json:
        raise Problem(415, "Send the body as JSON, with Content-Type: application/json.")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object.")
    return body


def _respond(status: int, body: Any, replayed: bool, location: str | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if location and status == 201:
        response.headers["Location"] = location
    return response


def _idempotent(write: Any) -> tuple[int, Any, bool]:
    body = read_json()
    fingerprint = request_fingerprint(request.method, request.path, body)
    return run_once(g.api_token, request.headers.get("Idempotency-Key"), fingerprint, lambda: write(body))


@blueprint.post("/cancellations")
@requires_scope("cancellations:write")
def create_cancellation() -> Response:
    def write(body: dict[str, Any]) -> Result:
        try:
            cancellation = record_cancellation(body, source="api")
        except InvalidCancellation as invalid:
            raise Problem(422, "Nothing was logged; fix the fields listed in errors.", invalid.errors) from None
        return (200 if cancellation.joined else 201), {**cancellation_json(cancellation), "merged": cancellation.joined}

    status, body, replayed = _idempotent(write)
    location = url_for("api.get_cancellation", cancellation_id=body["id"]) if status == 201 else None
    return _respond(status, body, replayed, location)


def _arg(name: str) -> str | None:
    """A query parameter as given, None when absent; an empty one is refused, as the OpenAPI document says (it is
    neither a date, nor a number, nor a state), rather than read as absent."""
    value = request.args.get(name)
    if value == "":
        raise Problem(400, "Invalid query parameter.", {name: "Must not be empty: leave the parameter out instead."})
    return value


def _refuse_empty_parameters() -> None:
    """Every parameter given must have a value: `owner=` or `fit=` is refused as `_arg` refuses it, never read as
    "any" (the insights page's own form sends empty fields for that; the API's document says to leave them out)."""
    empty = {name: "Must not be empty: leave the parameter out instead." for name, v in request.args.items() if not v}
    if empty:
        raise Problem(400, "Invalid query parameter.", empty)


def _day_bound(name: str, end: bool) -> datetime | None:
    value = _arg(name)
    if value is None:
        return None
    try:
        if FULL_DATE.fullmatch(value):
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        if not DATE_TIME.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Problem(400, "Invalid query parameter.", {name: "Must be a date (YYYY-MM-DD) or a date-time."}) from None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = _arg(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise Problem(400, "Invalid query parameter.", {name: f"Must be a whole number from {low} to {high}."})
    return int(raw)


@blueprint.get("/cancellations")
@requires_scope("cancellations:read")
def list_cancellations() -> Response:
    """Newest first; filter by state and by cancelled_at (since/until, inclusive)."""
    page = _int_arg("page", 1, 1, MAX_PAGE)
    per_page = _int_arg("per_page", 25, 1, 100)
    query = select(Cancellation).options(*listed_with())
    state = _arg("state")
    if state is not None:
        if state not in STATES:
            raise Problem(400, "Invalid query parameter.", {"state": f"Must be one of {', '.join(STATES)}."})
        query = query.where(Cancellation.state == state)
    since, until = _day_bound("since", end=False), _day_bound("until", end=True)
    if since:
        query = query.where(Cancellation.cancelled_at >= since)
    if until:
        query = query.where(Cancellation.cancelled_at <= until)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Cancellation.cancelled_at.desc(), Cancellation.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    has_next = page * per_page < total
    args = {k: v for k, v in request.args.items() if k != "page"}
    return jsonify(
        {
            "data": [cancellation_json(c) for c in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next": url_for("api.list_cancellations", page=page + 1, **args) if has_next else None,
        }
    )


def _get_or_404(model: type[Any], object_id: int, what: str) -> Any:
    found = db.session.get(model, object_id) if object_id <= MAX_ID else None
    if found is None:
        raise Problem(404, f"No {what} has the id {object_id}.")
    return found


@blueprint.get("/cancellations/<int:cancellation_id>")
@requires_scope("cancellations:read")
def get_cancellation(cancellation_id: int) -> Response:
    return jsonify(cancellation_json(_get_or_404(Cancellation, cancellation_id, "cancellation"), full=True))


@blueprint.post("/customers")
@requires_scope("customers:write")
def create_customer() -> Response:
    """Creates a customer, or updates the one with the same external_id (200)."""

    def write(body: dict[str, Any]) -> Result:
        errors = {name: "Unknown field." for name in body if name not in FIELDS}
        if not body.get("external_id") and not body.get("email"):
            errors["email"] = "Give the customer's email or external_id."
        try:
            if errors:  # every problem at once: the known fields are checked too, and nothing is written
                clean_customer({name: value for name, value in body.items() if name in FIELDS})
            else:
                customer, created = upsert_customer(body)
        except InvalidCustomer as invalid:
            db.session.rollback()
            errors = {**invalid.errors, **errors}
        if errors:
            raise Problem(422, "Nothing was saved; fix the fields listed in errors.", errors)
        return (201 if created else 200), customer_json(customer)

    status, body, replayed = _idempotent(write)
    return _respond(status, body, replayed, url_for("api.get_customer", customer_id=body["id"]))


@blueprint.get("/customers/<int:customer_id>")
@requires_scope("customers:read")
def get_customer(customer_id: int) -> Response:
    return jsonify(customer_json(_get_or_404(Customer, customer_id, "customer")))


@blueprint.put("/customers/<int:customer_id>/conversations/<external_id>")
@requires_scope("customers:write")
def put_conversation(customer_id: int, external_id: str) -> Response:
    """Idempotent by nature: the conversation's key is in the path, and the same body writes the same row."""
    customer = _get_or_404(Customer, customer_id, "customer")
    if customer.erased_at is not None:
        raise Problem(404, f"The customer {customer_id} was erased; nothing of theirs is kept.")
    found = conversation_from(external_id, read_json())
    conversation, created = put_one(customer, found, utcnow())
    db.session.commit()
    return _respond(201 if created else 200, conversation_json(conversation), False)


def _bool_arg(name: str) -> bool:
    raw = request.args.get(name, "")
    if raw not in ("", "true", "false"):
        raise Problem(400, "Invalid query parameter.", {name: "Must be true or false."})
    return raw == "true"


@blueprint.get("/action-items")
@requires_scope("action_items:write")
def list_action_items() -> Response:
    """Soonest due first (undated last); filter by status, owner (an email) and overdue."""
    _refuse_empty_parameters()
    page = _int_arg("page", 1, 1, MAX_PAGE)
    per_page = _int_arg("per_page", 25, 1, 100)
    status = request.args.get("status", "")
    if status and status not in STATUSES_OF_ITEMS:
        raise Problem(400, "Invalid query parameter.", {"status": f"Must be one of {', '.join(STATUSES_OF_ITEMS)}."})
    owner_id = None
    owner = request.args.get("owner", "").strip().lower()
    if owner:
        owner_id = db.session.scalar(select(User.id).where(func.lower(User.email) == owner))
        if owner_id is None:
            raise Problem(400, "Invalid query parameter.", {"owner": "No staff member has this email address."})
    query = listed_items(owner_id=owner_id, status=status, overdue=_bool_arg("overdue"), today=today_utc())
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique().all()
    args = {k: v for k, v in request.args.items() if k != "page"}
    return jsonify(
        {
            "data": [action_item_json(item) for item in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next": url_for("api.list_action_items", page=page + 1, **args) if page * per_page < total else None,
        }
    )


@blueprint.get("/action-items/<int:item_id>")
@requires_scope("action_items:write")
def get_action_item(item_id: int) -> Response:
    return jsonify(action_item_json(_get_or_404(ActionItem, item_id, "action item")))


@blueprint.patch("/action-items/<int:item_id>")
@requires_scope("action_items:write")
def update_action_item(item_id: int) -> Response:
    """Changes any of title, owner_email, due_on, status, note, ticket_url: how a ticket system closes an item."""
    item = _get_or_404(ActionItem, item_id, "action item")
    body = read_json()
    unknown = {name: "This field cannot be changed." for name in body if name not in WRITABLE}
    if unknown:
        raise Problem(422, "Nothing was changed; fix the fields listed in errors.", unknown)
    try:
        update_item(item, body)
    except InvalidActionItem as invalid:
        db.session.rollback()
        raise Problem(422, "Nothing was changed; fix the fields listed in errors.", invalid.errors) from None
    db.session.commit()
    return jsonify(action_item_json(item))


@blueprint.get("/insights")
@requires_scope("insights:read")
def insights() -> Response:
    """The insights page's numbers for the same filter: since and until are days, both inclusive."""
    _refuse_empty_parameters()
    try:
        f = parse_filter(request.args)
    except InvalidFilter as invalid:
        raise Problem(400, "Invalid query parameter.", invalid.errors) from None
    return jsonify(insights_json(report(db.session.connection(), f)))


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@blueprint.get("/events")
@requires_scope("events:read")
def list_events() -> Response:
    """Polling: what webhooks would have carried, oldest first, from after=<the last id seen>."""
    _refuse_empty_parameters()
    return jsonify(events_after(_int_arg("after", 0, 0, MAX_ID), _int_arg("limit", 100, 1, MAX_LIMIT)))
