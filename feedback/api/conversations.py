"""PUT /api/v1/customers/{id}/conversations/{external_id}: any other help desk (Intercom, Front, an in-house one)
puts a customer's conversation in with the fields the built-in clients keep; the same body twice changes nothing."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from feedback.errors import Problem
from feedback.helpdesk.connector import Found
from feedback.helpdesk.http import parse_time
from feedback.helpdesk.models import Conversation
from feedback.helpdesk.text import html_to_text

#: Printable ASCII without a slash: what one path segment of ours carries.
EXTERNAL_ID = r"^[!-.0-~]{1,100}$"
WEB_ADDRESS = r"^(https?://[!-~]+)?$"
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
LIMITS = {"subject": 500, "status": 40, "channel": 40, "satisfaction": 40, "opening_message": 20_000, "url": 2000}
MAX_TAGS = 30

_MOMENT = {"type": "string", "format": "date-time"}
CONVERSATION_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["opened_at"],
    "description": "One conversation of the customer's help desk. Markup in opening_message is reduced to text and "
    "it is kept to 2,000 characters; the newest 50 conversations of a customer are kept.",
    "properties": {
        "url": {"type": "string", "maxLength": LIMITS["url"], "pattern": WEB_ADDRESS, "description": "Where staff "
                "open it (http or https), or empty."},
        "subject": {"type": "string", "maxLength": LIMITS["subject"]},
        "status": {"type": "string", "maxLength": LIMITS["status"]},
        "channel": {"type": "string", "maxLength": LIMITS["channel"], "description": "email, chat, phone, web…"},
        "opened_at": _MOMENT,
        "solved_at": {"anyOf": [_MOMENT, {"type": "null"}]},
        "replies": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, {"type": "null"}]},
        "satisfaction": {"type": "string", "maxLength": LIMITS["satisfaction"], "description": "good, bad, or "
                         "the help desk's own word; empty when not rated."},
        "tags": {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string", "maxLength": 80}},
        "opening_message": {"type": "string", "maxLength": LIMITS["opening_message"]},
        "opened_by_customer": {"type": "boolean", "description": "False for a message we sent first (never the "
                               "likely final straw). Default true."},
    },
}  # fmt: skip
CONVERSATION = {
    "type": "object",
    "required": ["customer_id", "help_desk", "external_id", "opened_at"],
    "properties": {
        "customer_id": {"type": "integer"},
        "help_desk": {"type": "string"},
        "external_id": {"type": "string"},
        **{name: schema for name, schema in CONVERSATION_INPUT["properties"].items() if name != "opening_message"},
        "opening_message": {"type": "string", "maxLength": 2000},
    },
}


def _moment(body: dict[str, Any], name: str, errors: dict[str, str]) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not DATE_TIME.fullmatch(value) or (moment := parse_time(value.upper())) is None:
        errors[name] = "Give an RFC 3339 date-time, e.g. 2026-11-28T09:14:00Z."
        return None
    return moment


def conversation_from(external_id: str, body: dict[str, Any]) -> Found:
    """The body checked field by field (422 with every problem at once), as the clients' Found."""
    errors = {name: "Unknown field." for name in body if name not in CONVERSATION_INPUT["properties"]}
    if not re.fullmatch(EXTERNAL_ID, external_id):
        errors["external_id"] = "Up to 100 printable characters, no slash."
    for name, limit in LIMITS.items():
        value = body.get(name, "")
        if not isinstance(value, str):
            errors[name] = "Must be a string."
        elif len(value) > limit:
            errors[name] = f"At most {limit:,} characters."
    if isinstance(body.get("url", ""), str) and not re.fullmatch(WEB_ADDRESS, body.get("url", "")):
        errors["url"] = "An http or https address, or empty."
    opened_at = _moment(body, "opened_at", errors)
    if "opened_at" not in body:
        errors["opened_at"] = "Required: when the conversation was opened."
    solved_at = _moment(body, "solved_at", errors)
    replies = body.get("replies")
    if replies is not None and (type(replies) is not int or not 0 <= replies <= 2**31 - 1):
        errors["replies"] = "A whole number, 0 or more, or null."
    tags = body.get("tags", [])
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(isinstance(t, str) and len(t) <= 80 for t in tags):
        errors["tags"] = f"A list of at most {MAX_TAGS} strings of up to 80 characters."
    by_customer = body.get("opened_by_customer", True)
    if not isinstance(by_customer, bool):
        errors["opened_by_customer"] = "true or false."
    if errors:
        raise Problem(422, "Nothing was saved; fix the fields listed in errors.", errors)
    assert opened_at is not None
    return Found(
        external_id=external_id,
        url=body.get("url", ""),
        subject=body.get("subject", ""),
        status=body.get("status", ""),
        channel=body.get("channel", ""),
        opened_at=opened_at,
        solved_at=solved_at,
        replies=replies,
        satisfaction=body.get("satisfaction", ""),
        tags=tags,
        opening_message=html_to_text(body.get("opening_message", "")),
        opened_by_customer=by_customer,
    )


def conversation_json(c: Conversation) -> dict[str, Any]:
    return {
        "customer_id": c.customer_id,
        "help_desk": c.source,
        "external_id": c.external_id,
        "url": c.url,
        "subject": c.subject,
        "status": c.status,
        "channel": c.channel,
        "opened_at": c.opened_at.isoformat().replace("+00:00", "Z"),
        "solved_at": c.solved_at.isoformat().replace("+00:00", "Z") if c.solved_at else None,
        "replies": c.replies,
        "satisfaction": c.satisfaction,
        "tags": c.tags,
        "opening_message": c.opening_message,
        "opened_by_customer": c.opened_by_customer,
    }


def conversation_path(ref: str, problems: Any, json: Any) -> dict[str, Any]:
    """The operation as the OpenAPI document describes it."""
    return {
        "put": {
            "operationId": "putConversation",
            "description": "Creates (201) or replaces (200) one conversation of the customer from any help desk; "
            "the same request again changes nothing. Shown in the customer's postmortems.",
            "parameters": [
                {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                {
                    "name": "external_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": EXTERNAL_ID},
                },
            ],  # fmt: skip
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": ref + "ConversationInput"}}},
            },
            "responses": {
                "200": json("Replaced.", {"$ref": ref + "Conversation"}),
                "201": json("Created.", {"$ref": ref + "Conversation"}),
                **problems("400", "401", "404", "413", "415", "422"),
            },
        }
    }
