"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json and checked by schemathesis in CI."""

from __future__ import annotations

from typing import Any

from feedback.actions.models import STATUSES as ITEM_STATUSES
from feedback.api.action_items import ACTION_ITEM, ACTION_ITEM_PATCH
from feedback.inputs import schemas as inputs
from feedback.inputs.schema import MAX_MONEY, Schema
from feedback.inputs.schemas import STRIPE_FEEDBACK
from feedback.insights.filters import AVOIDABLE_CHOICES, FIT_CHOICES, SOURCES
from feedback.postmortem.models import STATES


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


TEXT = {"type": "string"}
MOMENT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
DAY_OR_MOMENT = {"anyOf": [DAY, MOMENT]}


def _length(schema: Schema, name: str) -> int:
    """The limits are the input schemas': the document publishes what the checks hold."""
    limit = schema[name].max_length
    assert limit is not None
    return limit


CUSTOMER_FIELDS: dict[str, Any] = {
    "external_id": {
        **_nullable({"type": "string", "maxLength": _length(inputs.CUSTOMER, "external_id")}),
        "description": "The billing system's id.",
    },
    "name": {"type": "string", "maxLength": _length(inputs.CUSTOMER, "name")},
    "email": {"type": "string", "format": "email", "maxLength": _length(inputs.CUSTOMER, "email")},
    "company": {"type": "string", "maxLength": _length(inputs.CUSTOMER, "company")},
    "plan": {"type": "string", "maxLength": _length(inputs.CUSTOMER, "plan")},
    "mrr": {
        **_nullable({"type": "number", "minimum": 0, "exclusiveMaximum": int(MAX_MONEY)}),
        "description": "Monthly recurring revenue in the currency's main unit: 49.5 means 49.50.",
    },
    "customer_since": _nullable(DAY),
    "owner_email": {"type": "string", "format": "email", "maxLength": _length(inputs.CUSTOMER, "owner_email")},
    "locale": {
        "type": "string",
        "maxLength": _length(inputs.CUSTOMER, "locale"),
        "pattern": "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$",
        "description": "A BCP 47 tag, e.g. en or de-CH; empty for none.",
    },
}

CUSTOMER_INPUT = {"type": "object", "properties": CUSTOMER_FIELDS, "additionalProperties": False}

CUSTOMER = {
    "type": "object",
    "required": ["id", *CUSTOMER_FIELDS, "created_at", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        **{name: {"oneOf": [{"type": "string"}, {"type": "null"}]} for name in ("external_id", "customer_since")},
        **{name: TEXT for name in ("name", "email", "company", "plan", "owner_email", "locale")},
        "mrr": _nullable({"type": "number"}),
        "created_at": MOMENT,
        "updated_at": MOMENT,
    },
}

CANCELLATION_INPUT = {
    "type": "object",
    "description": "Give `customer` (created, or updated when its external_id is known) or `customer_external_id`.",
    "properties": {
        "customer": {"$ref": "#/components/schemas/CustomerInput"},
        "customer_external_id": {"type": "string", "maxLength": _length(inputs.CUSTOMER, "external_id")},
        "owner_email": {
            "type": "string",
            "format": "email",
            "description": "A staff member's address; defaults to the customer's owner_email.",
        },
        "reason": {"type": "string", "maxLength": _length(inputs.CANCELLATION, "reason")},
        "complaint": {"type": "string", "maxLength": _length(inputs.CANCELLATION, "complaint")},
        "cancelled_at": {**MOMENT, "description": "Defaults to now; not in the future."},
        "feedback": _nullable({"type": "string", "enum": list(STRIPE_FEEDBACK)}),
        "comment": {"type": "string", "maxLength": _length(inputs.CANCELLATION, "comment")},
    },
    "additionalProperties": False,
}

ANSWER = {
    "type": "object",
    "required": ["key", "question", "answer"],
    "properties": {"key": TEXT, "question": TEXT, "answer": TEXT, "value": {}},
}

INVITATION = {
    "type": "object",
    "properties": {
        name: MOMENT if name in ("created_at", "expires_at") else _nullable(MOMENT)
        for name in ("created_at", "sent_at", "expires_at", "answered_at", "expired_at")
    },
}

CANCELLATION_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "state": {"type": "string", "enum": list(STATES)},
    "source": TEXT,
    "customer": _nullable({"$ref": "#/components/schemas/Customer"}),
    "customer_name": TEXT,
    "customer_email": TEXT,
    "company": TEXT,
    "plan": TEXT,
    "mrr": _nullable({"type": "number"}),
    "customer_since": _nullable(TEXT),
    "owner_email": TEXT,
    "reason": TEXT,
    "complaint": TEXT,
    "feedback": _nullable(TEXT),
    "comment": TEXT,
    "cancelled_at": MOMENT,
    "created_at": MOMENT,
    "url": {"type": "string", "format": "uri"},
    "invitation": _nullable(INVITATION),
}

CANCELLATION = {"type": "object", "required": list(CANCELLATION_PROPERTIES), "properties": CANCELLATION_PROPERTIES}

CANCELLATION_DETAIL = {
    "type": "object",
    "required": [*CANCELLATION_PROPERTIES, "answers", "review"],
    "properties": {
        **CANCELLATION_PROPERTIES,
        "answers": _nullable({"type": "array", "items": ANSWER}),
        "review": _nullable(
            {
                "type": "object",
                "required": ["author", "submitted_at", "answers"],
                "properties": {"author": TEXT, "submitted_at": MOMENT, "answers": {"type": "array", "items": ANSWER}},
            }
        ),
    },
}

RATIO = _nullable({"type": "number", "minimum": 0, "maximum": 1})
MONEY = {"type": "number", "description": "In the currency's main unit: 49.5 means 49.50."}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


SHARE = _object({"count": {"type": "integer"}, "share": RATIO, "mrr_lost": MONEY})
REASON = _object({"reason": TEXT, **SHARE["properties"]})
GROUP = _object({"value": TEXT, **SHARE["properties"]})
INSIGHTS = _object(
    {
        "filter": {
            "type": "object",
            "required": ["since", "until"],
            "properties": {name: TEXT for name in ("owner", "plan", "source", "locale", "fit", "avoidable")}
            | {"since": DAY, "until": DAY},
        },
        "totals": _object(
            {
                **{name: {"type": "integer"} for name in ("cancellations", "invited", "opened", "answered")},
                **{name: {"type": "integer"} for name in ("reviewed", "avoidable")},
                "mrr_lost": MONEY,
                "response_rate": RATIO,
                "review_rate": RATIO,
                "median_answer_seconds": _nullable({"type": "number"}),
                "median_review_seconds": _nullable({"type": "number"}),
            }
        ),
        "previous": _object({"cancellations": {"type": "integer"}, "mrr_lost": MONEY}),
        "periods": {
            "type": "array",
            "items": _object({"start": DAY, "cancellations": {"type": "integer"}, "mrr_lost": MONEY}),
        },
        "reasons": {"type": "array", "items": REASON, "description": "The customer's main reason, by stored choice."},
        "owner_reasons": {"type": "array", "items": REASON, "description": "The owner's view of the main reason."},
        "stripe_feedback": {"type": "array", "items": GROUP},
        "agreement": _object(
            {
                "compared": {"type": "integer"},
                "agreed": {"type": "integer"},
                "rate": RATIO,
                "differences": {
                    "type": "array",
                    "items": _object({"customer": TEXT, "owner": TEXT, "count": {"type": "integer"}}),
                },
            }
        ),
        **{
            name: {"type": "array", "items": GROUP} for name in ("plans", "tenure", "mrr_bands", "icp_fit", "avoidable")
        },
        "return_likelihood": {
            "type": "array",
            "items": _object({"score": {"type": "integer"}, "count": {"type": "integer"}, "share": RATIO}),
        },
        "follow_up": _object({"count": {"type": "integer"}, "share": RATIO}),
    }
)

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each bad field.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": TEXT,
        "title": TEXT,
        "status": {"type": "integer"},
        "detail": TEXT,
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": TEXT, "message": TEXT},
            },
        },
    },
}

PROBLEM_MESSAGES = {
    "400": "Malformed JSON or an invalid query parameter or header.",
    "401": "No token, or an unknown or revoked one.",
    "404": "No such object.",
    "409": "The Idempotency-Key was used with a different request.",
    "413": "The body is larger than the API accepts.",
    "415": "The body is not JSON.",
    "422": "Invalid fields; nothing was written.",
    "429": "Too many requests from this token or client address (API_RATE_LIMIT); retry after Retry-After seconds.",
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 0}}}


def _problems(*codes: str) -> dict[str, Any]:
    """The problem answers an operation gives; every operation is rate limited, so each may also answer 429."""
    return {
        code: {
            "description": PROBLEM_MESSAGES[code],
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": RETRY_AFTER} if code == "429" else {}),
        }
        for code in (*codes, "429")
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry safely: the same key with the same body replays the first answer.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _id_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def openapi_document() -> dict[str, Any]:
    ref = "#/components/schemas/"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Farewell API",
            "version": "1",
            "description": (
                "Log cancellations and customers; list and close action items. "
                "Authenticate with `Authorization: Bearer TOKEN`."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/cancellations": {
                "post": {
                    "operationId": "createCancellation",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": ref + "CancellationInput"}}},
                    },
                    "responses": {
                        "201": _json("Logged; the exit survey is queued.", {"$ref": ref + "Cancellation"}),
                        **_problems("400", "401", "409", "413", "415", "422"),
                    },
                },
                "get": {
                    "operationId": "listCancellations",
                    "parameters": [
                        _query("page", {"type": "integer", "minimum": 1, "maximum": 100000}),
                        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}),
                        _query("state", {"type": "string", "enum": list(STATES)}),
                        _query("since", DAY_OR_MOMENT, "Cancelled on or after this day (from its start) or moment."),
                        _query("until", DAY_OR_MOMENT, "Cancelled on or before this day (to its end) or moment."),
                    ],
                    "responses": {
                        "200": _json(
                            "Newest first.",
                            {
                                "type": "object",
                                "required": ["data", "page", "per_page", "total", "next"],
                                "properties": {
                                    "data": {"type": "array", "items": {"$ref": ref + "Cancellation"}},
                                    "page": {"type": "integer"},
                                    "per_page": {"type": "integer"},
                                    "total": {"type": "integer"},
                                    "next": _nullable(TEXT),
                                },
                            },
                        ),
                        **_problems("400", "401"),
                    },
                },
            },
            "/api/v1/cancellations/{cancellation_id}": {
                "get": {
                    "operationId": "getCancellation",
                    "parameters": [_id_parameter("cancellation_id")],
                    "responses": {
                        "200": _json(
                            "With the customer's answers and the review when present.",
                            {"$ref": ref + "CancellationDetail"},
                        ),
                        **_problems("401", "404"),
                    },
                }
            },
            "/api/v1/customers": {
                "post": {
                    "operationId": "createCustomer",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": ref + "CustomerInput"}}},
                    },
                    "responses": {
                        "200": _json("Updated: a customer with this external_id existed.", {"$ref": ref + "Customer"}),
                        "201": _json("Created.", {"$ref": ref + "Customer"}),
                        **_problems("400", "401", "409", "413", "415", "422"),
                    },
                }
            },
            "/api/v1/action-items": {
                "get": {
                    "operationId": "listActionItems",
                    "parameters": [
                        _query("page", {"type": "integer", "minimum": 1, "maximum": 100000}),
                        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}),
                        _query("status", {"type": "string", "enum": list(ITEM_STATUSES)}),
                        _query("owner", {"type": "string", "format": "email"}, "The owner's email address."),
                        _query("overdue", {"type": "string", "enum": ["true", "false"]}, "Open and past due."),
                    ],
                    "responses": {
                        "200": _json(
                            "Soonest due first; items with no due date last.",
                            {
                                "type": "object",
                                "required": ["data", "page", "per_page", "total", "next"],
                                "properties": {
                                    "data": {"type": "array", "items": {"$ref": ref + "ActionItem"}},
                                    "page": {"type": "integer"},
                                    "per_page": {"type": "integer"},
                                    "total": {"type": "integer"},
                                    "next": _nullable(TEXT),
                                },
                            },
                        ),
                        **_problems("400", "401"),
                    },
                }
            },
            "/api/v1/action-items/{item_id}": {
                "get": {
                    "operationId": "getActionItem",
                    "parameters": [_id_parameter("item_id")],
                    "responses": {
                        "200": _json("The action item.", {"$ref": ref + "ActionItem"}),
                        **_problems("401", "404"),
                    },
                },
                "patch": {
                    "operationId": "updateActionItem",
                    "parameters": [_id_parameter("item_id")],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": ref + "ActionItemPatch"}}},
                    },
                    "responses": {
                        "200": _json("Changed.", {"$ref": ref + "ActionItem"}),
                        **_problems("400", "401", "404", "413", "415", "422"),
                    },
                },
            },
            "/api/v1/insights": {
                "get": {
                    "operationId": "getInsights",
                    "description": "The insights page's numbers for one filter; shares count only those asked.",
                    "parameters": [
                        _query("since", {"type": "string", "format": "date"}, "Cancelled on or after this day."),
                        _query("until", {"type": "string", "format": "date"}, "Cancelled on or before this day."),
                        _query("owner", {"type": "string", "maxLength": 254}, "The owner's email."),
                        _query("plan", {"type": "string", "maxLength": 120}),
                        _query("source", {"type": "string", "enum": list(SOURCES)}),
                        _query("locale", {"type": "string", "maxLength": 16}, "The customer's language."),
                        _query("fit", {"type": "string", "enum": list(FIT_CHOICES)}, "The review's ICP fit."),
                        _query("avoidable", {"type": "string", "enum": list(AVOIDABLE_CHOICES)}),
                    ],
                    "responses": {
                        "200": _json("Defaults: the last 90 days, everyone.", {"$ref": ref + "Insights"}),
                        **_problems("400", "401"),
                    },
                }
            },
            "/api/v1/customers/{customer_id}": {
                "get": {
                    "operationId": "getCustomer",
                    "parameters": [_id_parameter("customer_id")],
                    "responses": {"200": _json("The customer.", {"$ref": ref + "Customer"}), **_problems("401", "404")},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "CustomerInput": CUSTOMER_INPUT,
                "Customer": CUSTOMER,
                "CancellationInput": CANCELLATION_INPUT,
                "Cancellation": CANCELLATION,
                "CancellationDetail": CANCELLATION_DETAIL,
                "ActionItem": ACTION_ITEM,
                "ActionItemPatch": ACTION_ITEM_PATCH,
                "Insights": INSIGHTS,
                "Problem": PROBLEM,
            },
        },
    }
