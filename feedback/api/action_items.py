"""Action items as JSON, so that a ticket system can list them and close them: the shape the API promises."""

from __future__ import annotations

from typing import Any

from feedback.actions.models import STATUSES, ActionItem
from feedback.customers.operations import iso

#: Exactly these fields, in this order (docs/api.md, OpenAPI).
FIELDS = ("id", "title", "owner_email", "due_on", "status", "note", "ticket_url", "cancellation_id", "closed_at")
#: What a PATCH may change.
WRITABLE = ("title", "owner_email", "due_on", "status", "note", "ticket_url")


def action_item_json(item: ActionItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "owner_email": item.owner.email,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "status": item.status,
        "note": item.note,
        "ticket_url": item.ticket_url,
        "cancellation_id": item.cancellation_id,
        "closed_at": iso(item.closed_at),
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


ACTION_ITEM = {
    "type": "object",
    "required": list(FIELDS),
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "owner_email": {"type": "string"},
        "due_on": _nullable({"type": "string", "format": "date"}),
        "status": {"type": "string", "enum": list(STATUSES)},
        "note": {"type": "string"},
        "ticket_url": _nullable({"type": "string"}),
        "cancellation_id": {"type": "integer"},
        "closed_at": _nullable({"type": "string", "format": "date-time"}),
    },
}

ACTION_ITEM_PATCH = {
    "type": "object",
    "description": "Any of the fields; closing (done, not_doing) records when, reopening (open) clears it.",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "owner_email": {"type": "string", "format": "email", "description": "An active staff member."},
        "due_on": _nullable({"type": "string", "format": "date"}),
        "status": {"type": "string", "enum": list(STATUSES)},
        "note": {"type": "string", "maxLength": 2000},
        "ticket_url": _nullable({"type": "string", "pattern": "^https://\\S+$", "maxLength": 500}),
    },
    "additionalProperties": False,
}
