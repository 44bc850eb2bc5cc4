"""Scoped API tokens (issue 28, item 3): each operation needs its scope, the CLI and the admin page choose them,
the OpenAPI document declares them, DELETE /api/v1/customers/ID erases as the admin page does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import log, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from feedback import create_app
from feedback.api.models import ApiToken, ApiTokenScope
from feedback.api.openapi import OPERATION_SCOPES, openapi_document
from feedback.api.scopes import SCOPES, required_scope
from feedback.api.tokens import InvalidToken, create_token
from feedback.audit.models import AuditEvent
from feedback.extensions import db
from feedback.postmortem.models import Cancellation, Customer

PROBLEM = "application/problem+json"


def api_operations(app: Flask) -> list[tuple[str, str, str]]:
    """(method, OpenAPI path, endpoint) of every route under /api/, from the app's own URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path, rule.endpoint))
    return found


def make_token(app: Flask, scopes: list[str] | tuple[str, ...]) -> str:
    with app.app_context():
        token = create_token("Test", scopes)[1]
        db.session.commit()
        return token


def call(client: FlaskClient, method: str, path: str, token: str, **kwargs: Any) -> Any:
    concrete = re.sub(r"\{\w+\}", "1", path)
    return client.open(concrete, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_every_api_route_needs_a_scope_and_the_document_declares_that_one(app: Flask) -> None:
    document = openapi_document()
    operations = api_operations(app)
    assert len(operations) >= 13
    for method, path, endpoint in operations:
        operation = document["paths"][path][method.lower()]
        if endpoint == "api.openapi":
            assert operation["security"] == [] and required_scope(app.view_functions[endpoint]) is None
            continue
        scope = required_scope(app.view_functions[endpoint])
        assert scope in SCOPES, endpoint
        assert operation["security"] == [{"bearer": [scope]}], endpoint
        assert OPERATION_SCOPES[operation["operationId"]] == scope
        assert "403" in operation["responses"]
    assert document["x-scopes"] == SCOPES
    # Nothing is declared for an operation that no route has.
    assert set(OPERATION_SCOPES) == {
        document["paths"][path][method.lower()]["operationId"] for method, path, e in operations if e != "api.openapi"
    }


def test_each_route_answers_with_its_scope_and_refuses_without_it(app: Flask, client: FlaskClient, owner: Any) -> None:
    operations = [op for op in api_operations(app) if op[2] != "api.openapi"]
    for method, path, endpoint in operations:
        scope = required_scope(app.view_functions[endpoint])
        assert scope is not None
        without = make_token(app, [s for s in SCOPES if s != scope])
        refused = call(client, method, path, without, json={})
        assert refused.status_code == 403, (method, path)
        assert refused.mimetype == PROBLEM
        problem = json.loads(refused.text)
        assert problem["required_scope"] == scope and scope in problem["detail"]
        assert f'error="insufficient_scope", scope="{scope}"' in refused.headers["WWW-Authenticate"]
        allowed = call(client, method, path, make_token(app, [scope]), json={})
        assert allowed.status_code not in (401, 403), (method, path, allowed.text)
    with app.app_context():  # nothing was written by a refused request
        assert db.session.scalar(select(Customer.id)) is None


def test_a_read_only_token_reads_but_cannot_log(app: Flask, client: FlaskClient, owner: Any) -> None:
    log(app, owner["email"])
    reader = make_token(app, ["cancellations:read"])
    listed = call(client, "GET", "/api/v1/cancellations", reader)
    assert listed.status_code == 200 and listed.json["total"] == 1
    body = {"customer": {"name": "Jenny", "email": "jenny@northwind.test"}, "owner_email": owner["email"]}
    assert call(client, "POST", "/api/v1/cancellations", reader, json=body).status_code == 403
    with app.app_context():
        assert db.session.query(Cancellation).count() == 1


def test_a_view_without_a_scope_is_closed_to_every_token(app: Flask, client: FlaskClient) -> None:
    view = app.view_functions["api.list_events"]
    token = make_token(app, list(SCOPES))
    del view.required_scope
    try:
        response = call(client, "GET", "/api/v1/events", token)
    finally:
        view.required_scope = "events:read"
    assert response.status_code == 403 and "declares no scope" in response.json["detail"]


def test_tokens_from_the_command_line_choose_their_scopes(app: Flask, runner: Any, client: FlaskClient) -> None:
    created = runner.invoke(
        args=["tokens", "create", "Help desk", "--scope", "insights:read", "--scope", "events:read"]
    )
    assert created.exit_code == 0, created.output
    assert "with insights:read, events:read" in created.output
    token = created.output.strip().splitlines()[-1]
    assert call(client, "GET", "/api/v1/events", token).status_code == 200
    assert call(client, "GET", "/api/v1/cancellations", token).status_code == 403
    assert "insights:read events:read" in runner.invoke(args=["tokens", "list"]).output
    unknown = runner.invoke(args=["tokens", "create", "CRM", "--scope", "customers:delete"])
    assert unknown.exit_code == 2 and "customers:delete" in unknown.output and "privacy:erase" in unknown.output
    missing = runner.invoke(args=["tokens", "create", "CRM"])
    assert missing.exit_code == 2 and "--scope" in missing.output
    with app.app_context():
        assert db.session.query(ApiToken).count() == 1
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "token.create")).one()
        assert "insights:read, events:read" in event.detail


def test_admins_tick_the_scopes_on_the_tokens_page(app: Flask, client: FlaskClient, auth: Any, admin: Any) -> None:
    auth.login(admin["email"])
    refused = submit_form(client, "/admin/tokens/", {"name": "CRM"})
    assert refused.status_code == 422 and "Tick at least one scope" in refused.text
    page = submit_form(client, "/admin/tokens/", {"name": "CRM", "scopes": ["customers:read", "customers:write"]})
    assert page.status_code == 200
    token = page.text.split('id="new-token">')[1].split("<")[0]
    with app.app_context():
        assert db.session.scalars(select(ApiToken)).one().scopes == ["customers:read", "customers:write"]
    assert call(client, "GET", "/api/v1/customers/1", token).status_code == 404  # allowed, and there is none
    assert call(client, "GET", "/api/v1/insights", token).status_code == 403
    listing = client.get("/admin/tokens/").text
    assert "<code>customers:read</code>, <code>customers:write</code>" in listing
    forged = submit_form(client, "/admin/tokens/", {"name": "Evil", "scopes": ["everything"]})
    assert forged.status_code == 422
    with app.app_context():
        assert db.session.query(ApiToken).count() == 1


def test_the_operation_refuses_bad_scopes_and_the_database_too(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(InvalidToken, match="Unknown scope 'root'"):
            create_token("X", ["root"])
        with pytest.raises(InvalidToken, match="at least one scope"):
            create_token("X", [])
        row, _ = create_token("X", ["events:read", "events:read"])
        assert row.scopes == ["events:read"]
        db.session.commit()
        db.session.add(ApiTokenScope(token_id=row.id, scope="root"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def _logged_customer(app: Flask, client: FlaskClient, owner: Any) -> int:
    token = make_token(app, ["cancellations:write"])
    body = {
        "customer": {"external_id": "cus_9", "name": "Jenny Rosen", "email": "jenny@northwind.test"},
        "owner_email": owner["email"],
        "reason": "Jenny Rosen found it too dear",
    }
    assert call(client, "POST", "/api/v1/cancellations", token, json=body).status_code == 201
    with app.app_context():
        return db.session.scalars(select(Customer.id)).one()


def test_delete_erases_the_customer_as_the_admin_page_does_and_is_audited(
    app: Flask, client: FlaskClient, owner: Any
) -> None:
    customer_id = _logged_customer(app, client, owner)
    eraser = make_token(app, ["privacy:erase"])
    erased = call(client, "DELETE", f"/api/v1/customers/{customer_id}", eraser)
    assert erased.status_code == 200, erased.text
    assert erased.json == {"id": customer_id, "erased": {"customers": 1, "cancellations": 1, "emails": 2}}
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        assert customer is not None and customer.erased_at is not None and customer.email == ""
        cancellation = db.session.scalars(select(Cancellation)).one()
        assert cancellation.erased_at is not None and "Jenny" not in cancellation.customer_name
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.erase")).one()
        assert event.actor == "API token 'Test' (" + event.actor.split("(")[1]
        assert "requested through the API" in event.detail
    again = call(client, "DELETE", f"/api/v1/customers/{customer_id}", eraser)
    assert again.status_code == 410 and again.mimetype == PROBLEM and "was erased on" in again.json["detail"]
    assert call(client, "DELETE", "/api/v1/customers/999", eraser).status_code == 404
    assert (
        call(client, "DELETE", f"/api/v1/customers/{customer_id}", make_token(app, ["privacy:export"])).json[
            "required_scope"
        ]
        == "privacy:erase"
    )


def test_erase_and_export_are_under_the_api_limit_and_never_cached(app_config: dict[str, Any], owner: Any) -> None:
    app_config.update(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    app = create_app(app_config)
    client = app.test_client()
    token = make_token(app, ["privacy:export", "privacy:erase"])
    exported = call(client, "GET", "/api/v1/customers/1/export", token)
    assert exported.status_code == 404 and exported.headers["Cache-Control"] == "no-store"
    assert call(client, "DELETE", "/api/v1/customers/1", token).status_code == 404
    assert call(client, "GET", "/api/v1/customers/1/export", token).status_code == 404
    limited = call(client, "DELETE", "/api/v1/customers/1", token)
    assert limited.status_code == 429 and limited.mimetype == PROBLEM
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
