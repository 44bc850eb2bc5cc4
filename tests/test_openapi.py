"""schemathesis against /api/v1/openapi.json: no server error, no response that breaks the schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from conftest import deliver, link_in
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feedback import create_app
from feedback.api.openapi import openapi_document
from feedback.api.tokens import create_token
from feedback.extensions import db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    response_headers_conformance,
]

SCHEMA = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def api_app(app: Flask, owner: dict[str, Any]) -> Flask:
    """One database for all of an operation's examples, with a staff member to own what they log."""
    return app


@pytest.fixture
def token(api_app: Flask) -> str:
    with api_app.app_context():
        token = create_token("schemathesis")[1]
        db.session.commit()
        return token


def test_the_served_document_is_the_one_checked(api_app: Flask) -> None:
    assert api_app.test_client().get("/api/v1/openapi.json").json == openapi_document()


@pytest.mark.parametrize("operation", list(SCHEMA.get_all_operations()), ids=lambda op: op.ok().label)
def test_operation_conforms(api_app: Flask, token: str, operation: Any) -> None:
    operation = operation.ok()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(app=api_app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()


def test_successful_answers_conform_too(api_app: Flask, token: str, owner: dict[str, Any], smtp: Any) -> None:
    """Random bodies rarely name a real staff member, so the 201 and a full detail are checked on purpose."""
    headers = {"Authorization": f"Bearer {token}"}
    customer = {
        "external_id": "cus_1",
        "name": "Ann",
        "email": "ann@a.test",
        "mrr": 12.5,
        "customer_since": "2024-01-01",
    }
    created = SCHEMA["/api/v1/customers"]["POST"].Case(body=customer, headers=headers, media_type="application/json")
    created.call_and_validate(app=api_app, checks=CHECKS)
    body = {"customer_external_id": "cus_1", "owner_email": owner["email"], "feedback": "unused", "comment": "Bye"}
    logged = SCHEMA["/api/v1/cancellations"]["POST"].Case(body=body, headers=headers, media_type="application/json")
    response = logged.call_and_validate(app=api_app, checks=CHECKS)
    assert response.status_code == 201
    cancellation_id = response.json()["id"]
    deliver(api_app)
    survey = link_in(smtp.one("ann@a.test", "Thank you"))
    client = api_app.test_client()
    client.get(survey)
    assert client.post(survey, data={"main_reason": "Something else"}).status_code == 303
    detail = SCHEMA["/api/v1/cancellations/{cancellation_id}"]["GET"].Case(
        path_parameters={"cancellation_id": cancellation_id}, headers=headers
    )
    shown = detail.call_and_validate(app=api_app, checks=CHECKS).json()
    assert shown["answers"][0] == {
        "key": "main_reason",
        "question": "What was the main reason you cancelled?",
        "answer": "Something else",
        "value": "Something else",
    }
    listing = SCHEMA["/api/v1/cancellations"]["GET"].Case(query={"state": "answered"}, headers=headers)
    assert listing.call_and_validate(app=api_app, checks=CHECKS).json()["total"] == 1


def test_action_item_answers_conform_too(api_app: Flask, token: str, owner: dict[str, Any]) -> None:
    """Random ids rarely name an item: a real one is listed, then patched, and each answer checked."""
    from datetime import date

    from conftest import log

    from feedback.actions.operations import add_item
    from feedback.postmortem.models import Cancellation

    headers = {"Authorization": f"Bearer {token}"}
    cancellation_id = log(api_app, owner["email"])
    with api_app.app_context():
        item_id = add_item(db.session.get(Cancellation, cancellation_id), title="Ship", due_on=date(2027, 1, 1)).id
        db.session.commit()
    listing = SCHEMA["/api/v1/action-items"]["GET"].Case(query={"status": "open"}, headers=headers)
    assert listing.call_and_validate(app=api_app, checks=CHECKS).json()["total"] == 1
    patch = SCHEMA["/api/v1/action-items/{item_id}"]["PATCH"].Case(
        path_parameters={"item_id": item_id},
        body={"status": "not_doing", "due_on": None, "owner_email": owner["email"], "ticket_url": None},
        headers=headers,
        media_type="application/json",
    )
    assert patch.call_and_validate(app=api_app, checks=CHECKS).json()["status"] == "not_doing"
    shown = SCHEMA["/api/v1/action-items/{item_id}"]["GET"].Case(path_parameters={"item_id": item_id}, headers=headers)
    assert shown.call_and_validate(app=api_app, checks=CHECKS).json()["closed_at"] is not None


#: The operations that take something a negative case can break (the document itself takes nothing).
NEGATABLE = [op for op in SCHEMA.get_all_operations() if {"parameters", "requestBody"} & set(op.ok().definition.raw)]


@pytest.mark.parametrize("operation", NEGATABLE, ids=lambda op: op.ok().label)
def test_what_the_document_forbids_is_refused(api_app: Flask, token: str, operation: Any) -> None:
    """Negative cases (an empty `until=`, an Idempotency-Key outside its pattern…) get a 4xx, never a 2xx or a 500."""
    operation = operation.ok()

    auth = {"Authorization": f"Bearer {token}"}  # given, so that only the document's own parameters are negated

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=auth))
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(app=api_app, checks=[*CHECKS, negative_data_rejection])

    run()


def test_every_operation_declares_its_rate_limit_answer(api_app: Flask) -> None:
    """Every API route is rate limited (tests/test_security.py), so a client reading the document expects a 429."""
    with api_app.test_request_context():
        paths = openapi_document()["paths"]
    operations = [(path, method, op) for path, item in paths.items() for method, op in item.items()]
    assert len(operations) >= 8
    for path, method, operation in operations:
        if path.endswith("openapi.json"):
            continue
        limited = operation["responses"]["429"]
        assert "application/problem+json" in limited["content"], (path, method)
        assert limited["headers"]["Retry-After"]["schema"]["type"] == "integer", (path, method)


def test_every_api_route_is_documented_and_limited(app_config: dict[str, Any]) -> None:
    """Walks the app's own routes, so a route added under /api/v1 in any blueprint (the personal data export lives
    in feedback/privacy) is neither left out of the document, and so of schemathesis, nor out of the API's limit."""
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "1000 per minute"})
    with limited.app_context():
        token = create_token("walker")[1]
        db.session.commit()
    client = limited.test_client()
    paths = openapi_document()["paths"]
    rules = [rule for rule in limited.url_map.iter_rules() if rule.rule.startswith("/api/v1")]
    assert len(rules) >= 8
    for rule in rules:
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            assert method.lower() in paths.get(path, {}), f"{method} {path} is not in the OpenAPI document"
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {token}"})
            assert response.headers.get("RateLimit-Policy") == "1000;w=60", f"{method} {path} is not limited"


def _validator(name: str) -> Any:
    """The component as a JSON Schema 2020-12 validator (OpenAPI 3.1's dialect), in the library schemathesis uses."""
    import jsonschema_rs

    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def test_the_document_says_what_the_api_takes_and_refuses(api_app: Flask, token: str, owner: dict[str, Any]) -> None:
    """Null where the API reads it as left out; the rules between fields in the schema; the rest in words."""
    client = api_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    customer, cancellation = _validator("CustomerInput"), _validator("CancellationInput")
    nothing_more = {name: None for name in ("name", "company", "plan", "mrr", "customer_since", "locale")}
    taken_customers = [
        {"email": "ann@a.test", "plan": None, "external_id": None, "owner_email": None},
        {"external_id": "cus_8", "email": None, **nothing_more},
        {"external_id": "cus_9", "email": "bo@a.test", **nothing_more, "name": "Bo"},
    ]
    for body in taken_customers:
        assert client.post("/api/v1/customers", json=body, headers=headers).status_code in (200, 201), body
        assert customer.is_valid(body), body
    rest = {name: None for name in ("reason", "complaint", "cancelled_at", "feedback", "comment")}
    taken_cancellations = [
        {"customer_external_id": "cus_9", "customer": None, "owner_email": owner["email"], **rest},
        {"customer": {"name": "Cy", "email": "cy@a.test", "plan": None}, "customer_external_id": None,
         "owner_email": owner["email"]},
    ]  # fmt: skip
    for body in taken_cancellations:
        assert client.post("/api/v1/cancellations", json=body, headers=headers).status_code == 201, body
        assert cancellation.is_valid(body), body

    refused = [
        ("/api/v1/customers", customer, {"name": "Nobody Known"}),  # neither email nor external_id
        ("/api/v1/customers", customer, {"email": None, "external_id": None, "name": "Nobody Known"}),
        ("/api/v1/cancellations", cancellation, {"owner_email": owner["email"]}),  # no customer at all
        (
            "/api/v1/cancellations",
            cancellation,
            {"customer": {"name": "Di", "email": "di@a.test"}, "customer_external_id": "cus_9"},  # both
        ),
    ]
    for path, schema, body in refused:
        assert client.post(path, json=body, headers=headers).status_code == 422, body
        assert not schema.is_valid(body), body


def test_the_rules_a_schema_cannot_hold_are_in_its_words(api_app: Flask, token: str, owner: dict[str, Any]) -> None:
    from feedback.auth.models import User

    client = api_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with api_app.app_context():
        db.session.get(User, owner["id"]).active = False
        db.session.commit()
    body = {"customer": {"name": "Ed", "email": "ed@a.test"}, "owner_email": owner["email"]}
    assert client.post("/api/v1/cancellations", json=body, headers=headers).status_code == 422
    document = openapi_document()
    schemas = document["components"]["schemas"]
    for schema in (schemas["CustomerInput"], schemas["CancellationInput"]):
        assert "active staff member" in schema["properties"]["owner_email"]["description"]
    eleven_years = {"since": "2010-01-01", "until": "2021-01-01"}
    assert client.get("/api/v1/insights", query_string=eleven_years, headers=headers).status_code == 400
    assert "at most 10 years" in document["paths"]["/api/v1/insights"]["get"]["description"]
