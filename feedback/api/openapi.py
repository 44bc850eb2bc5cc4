"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json and checked by schemathesis in CI."""

from __future__ import annotations

from typing import Any

from feedback.actions.models import STATUSES as ITEM_STATUSES
from feedback.api.action_items import ACTION_ITEM, ACTION_ITEM_PATCH
from feedback.api.conversations import CONVERSATION, CONVERSATION_INPUT, conversation_path
from feedback.api.events import EVENT, events_path, webhooks_section
from feedback.api.scopes import SCOPES
from feedback.inputs import schemas as inputs
from feedback.inputs.schema import MAX_MONEY, Schema
from feedback.inputs.schemas import STRIPE_FEEDBACK
from feedback.insights.filters import AVOIDABLE_CHOICES, CHURN_CHOICES, FIT_CHOICES, MAX_DAYS, SOURCES
from feedback.postmortem.models import STATES


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A field the API also takes as null, read as if it were left out (OpenAPI 3.1: a list of types)."""
    return {**schema, "type": [schema["type"], "null"]}


TEXT = {"type": "string"}
MOMENT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
DAY_OR_MOMENT = {"anyOf": [DAY, MOMENT]}


def _length(schema: Schema, name: str) -> int:
    """The limits are the input schemas': the document publishes what the checks hold."""
    limit = schema[name].max_length
    assert limit is not None
    return limit


OWNER_RULE = "Must be the address of an active staff member (account owner or admin); otherwise 422."

CUSTOMER_FIELDS: dict[str, Any] = {
    "external_id": {
        **_or_null({"type": "string", "maxLength": _length(inputs.CUSTOMER, "external_id")}),
        "description": "The billing system's id.",
    },
    "name": _or_null({"type": "string", "maxLength": _length(inputs.CUSTOMER, "name")}),
    "email": _or_null({"type": "string", "format": "email", "maxLength": _length(inputs.CUSTOMER, "email")}),
    "company": _or_null({"type": "string", "maxLength": _length(inputs.CUSTOMER, "company")}),
    "plan": _or_null({"type": "string", "maxLength": _length(inputs.CUSTOMER, "plan")}),
    "mrr": {
        **_or_null({"type": "number", "minimum": 0, "exclusiveMaximum": int(MAX_MONEY)}),
        "description": "Monthly recurring revenue in the currency's main unit: 49.5 means 49.50.",
    },
    "currency": {
        **_or_null({"type": "string", "minLength": 3, "maxLength": 3}),
        "description": "The ISO 4217 currency of `mrr` (JPY, USD, BHD); absent or null: the company's currency.",
    },
    "customer_since": {**_or_null(DAY), "description": "Not in the future."},
    "owner_email": {
        **_or_null({"type": "string", "format": "email", "maxLength": _length(inputs.CUSTOMER, "owner_email")}),
        "description": OWNER_RULE,
    },
    "locale": {
        **_or_null(
            {
                "type": "string",
                "maxLength": _length(inputs.CUSTOMER, "locale"),
                "pattern": "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$",
            }
        ),
        "description": "A BCP 47 tag, e.g. en or de-CH; empty for none.",
    },
}

#: A customer is known by an address or by the billing system's id, at least one of them.
NEEDS_EMAIL_OR_EXTERNAL_ID = [
    {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}} for name in ("email", "external_id")
]

CUSTOMER_INPUT = {
    "type": "object",
    "description": (
        "Every field may be null, which reads as left out. A customer needs an email or an external_id (or both); "
        "a known external_id updates that customer with the fields given."
    ),
    "properties": CUSTOMER_FIELDS,
    "anyOf": NEEDS_EMAIL_OR_EXTERNAL_ID,
    "additionalProperties": False,
}

CUSTOMER = {
    "type": "object",
    "required": ["id", *CUSTOMER_FIELDS, "created_at", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        **{name: {"oneOf": [{"type": "string"}, {"type": "null"}]} for name in ("external_id", "customer_since")},
        **{name: TEXT for name in ("name", "email", "company", "plan", "owner_email", "locale")},
        "mrr": _nullable({"type": "number"}),
        "currency": _nullable({"type": "string", "pattern": "^[A-Z]{3}$"}),
        "created_at": MOMENT,
        "updated_at": MOMENT,
    },
}

CANCELLATION_INPUT = {
    "type": "object",
    "description": (
        "Give exactly one of `customer` (created, or updated when its external_id is known) and "
        "`customer_external_id` (a customer already known); a null one counts as not given. The other fields may be "
        "null too, which reads as left out."
    ),
    "properties": {
        "customer": _nullable({"$ref": "#/components/schemas/CustomerInput"}),
        "customer_external_id": _or_null(
            {"type": "string", "minLength": 1, "maxLength": _length(inputs.CUSTOMER, "external_id")}
        ),
        "owner_email": {
            **_or_null({"type": "string", "format": "email", "maxLength": _length(inputs.CANCELLATION, "owner_email")}),
            "description": "Defaults to the customer's owner_email. " + OWNER_RULE,
        },
        "reason": _or_null({"type": "string", "maxLength": _length(inputs.CANCELLATION, "reason")}),
        "complaint": _or_null({"type": "string", "maxLength": _length(inputs.CANCELLATION, "complaint")}),
        "cancelled_at": {**_or_null(MOMENT), "description": "Defaults to now; not in the future."},
        "feedback": {"type": ["string", "null"], "enum": [*STRIPE_FEEDBACK, "", None]},
        "comment": _or_null({"type": "string", "maxLength": _length(inputs.CANCELLATION, "comment")}),
    },
    "oneOf": [
        {
            "required": ["customer"],
            "properties": {"customer": {"type": "object"}, "customer_external_id": {"type": "null"}},
        },
        {
            "required": ["customer_external_id"],
            "properties": {"customer_external_id": {"type": "string"}, "customer": {"type": "null"}},
        },
    ],
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
    "currency": _nullable({"type": "string", "pattern": "^[A-Z]{3}$"}),
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
    "ends_at": _nullable({**MOMENT, "description": "When a cancellation scheduled in billing takes effect."}),
    "ended_at": _nullable({**MOMENT, "description": "When billing said the subscription ended."}),
    "stayed_at": _nullable({**MOMENT, "description": "When the customer undid it: the postmortem ended there."}),
    "involuntary": {"type": "boolean", "description": "A failed or disputed payment ended it: no survey by default."},
}

CANCELLATION = {"type": "object", "required": list(CANCELLATION_PROPERTIES), "properties": CANCELLATION_PROPERTIES}
#: What POST /api/v1/cancellations answers: the cancellation logged (201), or the open one it joined (200).
CANCELLATION_LOGGED = {
    "type": "object",
    "required": [*CANCELLATION_PROPERTIES, "merged"],
    "properties": {
        **CANCELLATION_PROPERTIES,
        "merged": {
            "type": "boolean",
            "description": "True when the customer already had an open postmortem (not yet summarised, or "
            "summarised within DUPLICATE_WINDOW_DAYS): this report joined it, filled in the facts it lacked and "
            "mailed nothing.",
        },
    },
}

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
            "properties": {name: TEXT for name in ("owner", "plan", "source", "locale", "fit", "avoidable", "churn")}
            | {"since": DAY, "until": DAY},
        },
        "totals": _object(
            {
                **{name: {"type": "integer"} for name in ("cancellations", "invited", "link_fetched", "opened")},
                "answered": {"type": "integer"},
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
        "churn": {
            "type": "array",
            "items": GROUP,
            "description": "Voluntary and involuntary (a failed or disputed payment) side by side; customers' "
            "reasons count the voluntary only.",
        },
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

ERASED = {
    "type": "object",
    "required": ["id", "erased"],
    "properties": {
        "id": {"type": "integer"},
        "erased": {
            "type": "object",
            "required": ["customers", "cancellations", "emails"],
            "properties": {
                name: {"type": "integer", "minimum": 0} for name in ("customers", "cancellations", "emails")
            },
        },
    },
}

PERSONAL_DATA = {
    "type": "object",
    "description": (
        "Everything Farewell holds about the customer's person (GDPR articles 15 and 20), found by their address: "
        "the same document as `flask customers export`. Each export is recorded in the audit trail."
    ),
    "required": [
        "format", "exported_at", "email", "customers", "cancellations", "emails", "suppression", "mail_received",
        "win_back_consents",
    ],
    "properties": {
        "format": {"type": "string", "description": "farewell-personal-data/ and the document's version."},
        "exported_at": MOMENT,
        "email": {"type": ["string", "null"], "description": "The address the records were found by."},
        "customers": {"type": "array", "items": {"$ref": "#/components/schemas/Customer"}},
        "cancellations": {
            "type": "array",
            "items": {"type": "object", "description": "With its timeline, survey answers and review."},
        },
        "emails": {"type": "array", "items": {"type": "object"}, "description": "Sent to them or about them."},
        "suppression": {"type": ["object", "null"], "description": "Their opt-out, when they opted out."},
        "mail_received": {"type": "array", "items": {"type": "object"}},
        "win_back_consents": {"type": "array", "items": {"type": "object"}},
    },
}  # fmt: skip

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
    "403": "The token lacks the operation's scope; `required_scope` names it.",
    "404": "No such object.",
    "409": "The Idempotency-Key was used with a different request.",
    "410": "The customer was erased already.",
    "413": "The body is larger than the API accepts.",
    "415": "The body is not JSON.",
    "422": "Invalid fields; nothing was written.",
    "429": "Too many requests from this token or client address (API_RATE_LIMIT); retry after Retry-After seconds.",
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 0}}}


def _problems(*codes: str) -> dict[str, Any]:
    """The problem answers an operation gives; every operation is rate limited, so each may also answer 429, and
    every one that takes a token (401) may answer 403 when the token lacks its scope."""
    scoped = ("403",) if "401" in codes else ()
    return {
        code: {
            "description": PROBLEM_MESSAGES[code],
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": RETRY_AFTER} if code == "429" else {}),
        }
        for code in sorted((*codes, *scoped, "429"))
    }


#: The scope each operation needs, by operationId; tests/test_scopes.py holds it to the views' own marks.
OPERATION_SCOPES = {
    "createCancellation": "cancellations:write",
    "listCancellations": "cancellations:read",
    "getCancellation": "cancellations:read",
    "createCustomer": "customers:write",
    "getCustomer": "customers:read",
    "putConversation": "customers:write",
    "eraseCustomer": "privacy:erase",
    "exportCustomer": "privacy:export",
    "listActionItems": "action_items:write",
    "getActionItem": "action_items:write",
    "updateActionItem": "action_items:write",
    "getInsights": "insights:read",
    "listEvents": "events:read",
}


def _declare_scopes(document: dict[str, Any]) -> dict[str, Any]:
    """Each operation's security requirement names its scope (OpenAPI 3.1 lets a bearer scheme list roles)."""
    for path_item in document["paths"].values():
        for operation in path_item.values():
            scope = OPERATION_SCOPES.get(operation["operationId"])
            if scope is not None:
                operation["security"] = [{"bearer": [scope]}]
                operation["description"] = (operation.get("description", "") + f" Scope: `{scope}`.").strip()
    return document


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
    document: dict[str, Any] = {
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
        "x-scopes": SCOPES,
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
                        "201": _json("Logged; the exit survey is queued.", {"$ref": ref + "CancellationLogged"}),
                        "200": _json(
                            "Joined the customer's open postmortem (merged: true); nothing mailed again.",
                            {"$ref": ref + "CancellationLogged"},
                        ),
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
                    "description": (
                        "The insights page's numbers for one filter; shares count only those asked. since must be on "
                        f"or before until, the range at most {MAX_DAYS // 366} years ({MAX_DAYS:,} days), the years "
                        "from 1900 to 9000: otherwise 400, naming the parameter."
                    ),
                    "parameters": [
                        _query(
                            "since",
                            {"type": "string", "format": "date"},
                            f"Cancelled on or after this day; at most {MAX_DAYS // 366} years before until.",
                        ),
                        _query("until", {"type": "string", "format": "date"}, "Cancelled on or before this day."),
                        _query("owner", {"type": "string", "maxLength": 254}, "The owner's email."),
                        _query("plan", {"type": "string", "maxLength": 120}),
                        _query("source", {"type": "string", "enum": list(SOURCES)}),
                        _query("locale", {"type": "string", "maxLength": 16}, "The customer's language."),
                        _query("fit", {"type": "string", "enum": list(FIT_CHOICES)}, "The review's ICP fit."),
                        _query("avoidable", {"type": "string", "enum": list(AVOIDABLE_CHOICES)}),
                        _query(
                            "churn",
                            {"type": "string", "enum": list(CHURN_CHOICES)},
                            "voluntary: the customer chose to leave; involuntary: a failed or disputed payment.",
                        ),
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
                    "responses": {
                        "200": _json("The customer.", {"$ref": ref + "Customer"}),
                        **_problems("401", "404"),
                    },
                },
                "delete": {
                    "operationId": "eraseCustomer",
                    "description": (
                        "Erases the person behind this record, as the admin page does: every customer record and "
                        "cancellation with their address loses what identifies them; the anonymous facts stay. "
                        "Recorded in the audit trail as this token's."
                    ),
                    "parameters": [_id_parameter("customer_id")],
                    "responses": {"200": _json("Erased; how much.", ERASED), **_problems("401", "404", "410")},
                },
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "description": "This document; no token needed, counted against the limit per client address.",
                    "security": [],
                    "responses": {
                        "200": _json("OpenAPI 3.1.", {"type": "object", "required": ["openapi", "paths"]}),
                        **_problems(),
                    },
                }
            },
            "/api/v1/customers/{customer_id}/export": {
                "get": {
                    "operationId": "exportCustomer",
                    "description": "The customer's personal data, as one JSON document (a data subject's request).",
                    "parameters": [_id_parameter("customer_id")],
                    "responses": {
                        "200": _json("The document.", {"$ref": ref + "PersonalData"}),
                        **_problems("401", "404"),
                    },
                }
            },
            "/api/v1/customers/{customer_id}/conversations/{external_id}": conversation_path(ref, _problems, _json),
            "/api/v1/events": events_path(_problems, _json, _query),
        },
        "webhooks": webhooks_section(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token; each operation's security names the scope it needs (x-scopes).",
                }
            },
            "schemas": {
                "CustomerInput": CUSTOMER_INPUT,
                "ConversationInput": CONVERSATION_INPUT,
                "Conversation": CONVERSATION,
                "Customer": CUSTOMER,
                "CancellationInput": CANCELLATION_INPUT,
                "Cancellation": CANCELLATION,
                "CancellationLogged": CANCELLATION_LOGGED,
                "CancellationDetail": CANCELLATION_DETAIL,
                "ActionItem": ACTION_ITEM,
                "ActionItemPatch": ACTION_ITEM_PATCH,
                "Insights": INSIGHTS,
                "PersonalData": PERSONAL_DATA,
                "Event": EVENT,
                "Problem": PROBLEM,
            },
        },
    }
    return _declare_scopes(document)
