"""The JSON API: tokens, cancellations, customers, idempotency keys and every error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from concurrency import at_once
from conftest import TEST_DATABASE_URL, csrf_token, deliver, flask_command, log, run_jobs, submit_form
from flask import Flask
from flask.testing import FlaskClient

from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.postmortem.models import Cancellation

PROBLEM = "application/problem+json"


@pytest.fixture
def token(app: Flask, owner: dict[str, Any]) -> str:
    with app.app_context():
        token = create_token("Billing")[1]
        db.session.commit()
        return token


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def body(owner_email: str = "olivia@acme.test", **fields: Any) -> dict[str, Any]:
    customer = {
        "external_id": "cus_42",
        "name": "Jenny Rosen",
        "email": "jenny@northwind.test",
        "company": "Northwind",
        "plan": "Team",
        "mrr": 147.5,
        "customer_since": "2023-02-01",
        "locale": "en",
    }
    return {"customer": customer, "owner_email": owner_email, "reason": "Budget cuts", **fields}


def test_post_logs_a_cancellation_with_its_customer_and_queues_the_survey(
    app: Flask, client: FlaskClient, token: str, smtp: Any
) -> None:
    response = client.post(
        "/api/v1/cancellations",
        json=body(feedback="too_expensive", comment="Too pricey", cancelled_at="2026-11-01T10:00:00Z"),
        headers=bearer(token),
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert response.headers["Location"] == f"/api/v1/cancellations/{created['id']}"
    assert created["state"] == "logged"
    assert created["customer"]["external_id"] == "cus_42"
    assert created["customer"]["mrr"] == 147.5
    assert created["mrr"] == 147.5 and created["feedback"] == "too_expensive"
    assert created["cancelled_at"] == "2026-11-01T10:00:00Z"
    deliver(app)
    assert smtp.one("jenny@northwind.test", "Thank you")

    shown = client.get(f"/api/v1/cancellations/{created['id']}", headers=bearer(token)).json
    assert shown["invitation"]["sent_at"] is not None
    assert shown["answers"] is None and shown["review"] is None
    customer = client.get(f"/api/v1/customers/{created['customer']['id']}", headers=bearer(token)).json
    assert customer["name"] == "Jenny Rosen" and customer["customer_since"] == "2023-02-01"
    assert customer["owner_email"] == "olivia@acme.test"  # the cancellation named the owner the customer had
    many = client.post("/api/v1/customers", json={"surprise": 1, "mrr": "lots", "locale": "!"}, headers=bearer(token))
    assert many.status_code == 422  # every problem at once, not the unknown field first and the rest next time
    assert {e["field"] for e in many.json["errors"]} == {"surprise", "email", "mrr", "locale"}, many.json


def test_a_known_customer_is_named_by_external_id(client: FlaskClient, token: str) -> None:
    customer = {"external_id": "cus_7", "name": "Ann", "email": "ann@x.test", "owner_email": "olivia@acme.test"}
    created = client.post("/api/v1/customers", json=customer, headers=bearer(token))
    assert created.status_code == 201
    updated = client.post("/api/v1/customers", json={"external_id": "cus_7", "plan": "Pro"}, headers=bearer(token))
    assert updated.status_code == 200 and updated.json["plan"] == "Pro" and updated.json["name"] == "Ann"
    logged = client.post("/api/v1/cancellations", json={"customer_external_id": "cus_7"}, headers=bearer(token))
    assert logged.status_code == 201, logged.json
    assert logged.json["owner_email"] == "olivia@acme.test" and logged.json["plan"] == "Pro"


def test_list_is_paginated_and_filtered_by_state_and_date(client: FlaskClient, token: str) -> None:
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        item = body(cancelled_at=f"{day}T12:00:00Z")
        item["customer"]["external_id"] = f"cus_{day}"
        assert client.post("/api/v1/cancellations", json=item, headers=bearer(token)).status_code == 201
    page = client.get("/api/v1/cancellations?per_page=2", headers=bearer(token)).json
    assert page["total"] == 3 and len(page["data"]) == 2 and page["next"]
    assert page["data"][0]["cancelled_at"].startswith("2026-10-03")
    second = client.get(page["next"], headers=bearer(token)).json
    assert [c["cancelled_at"][:10] for c in second["data"]] == ["2026-10-01"] and second["next"] is None
    ranged = client.get("/api/v1/cancellations?since=2026-10-02&until=2026-10-02", headers=bearer(token)).json
    assert [c["cancelled_at"][:10] for c in ranged["data"]] == ["2026-10-02"]
    assert client.get("/api/v1/cancellations?state=answered", headers=bearer(token)).json["total"] == 0
    assert client.get("/api/v1/cancellations?state=logged", headers=bearer(token)).json["total"] == 3


def test_idempotency_key_replays_the_first_result_and_refuses_another_body(client: FlaskClient, token: str) -> None:
    headers = bearer(token, **{"Idempotency-Key": "order-1"})
    first = client.post("/api/v1/cancellations", json=body(), headers=headers)
    # The same JSON with other whitespace and key order is the same request.
    same = json.dumps(dict(reversed(list(body().items()))), indent=2)
    again = client.post("/api/v1/cancellations", data=same, content_type="application/json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/v1/cancellations", headers=bearer(token)).json["total"] == 1

    other = client.post("/api/v1/cancellations", json=body(reason="Another"), headers=headers)
    assert other.status_code == 409 and other.mimetype == PROBLEM
    assert "different request" in other.json["detail"]


def test_errors_are_problem_json(app: Flask, client: FlaskClient, token: str) -> None:
    def check(response: Any, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.data
        assert response.mimetype == PROBLEM
        assert response.json["status"] == status and response.json["title"] and response.json["detail"]
        return response.json

    unknown = client.get("/api/v1/cancellations", headers=bearer("fw_nope"))
    check(unknown, 401)
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    check(client.get("/api/v1/cancellations"), 401)
    check(client.get("/api/v1/cancellations/99999999999", headers=bearer(token)), 404)
    check(client.get("/api/v1/nothing-here", headers=bearer(token)), 404)
    malformed = client.post(
        "/api/v1/cancellations", data='{"customer": ', content_type="application/json", headers=bearer(token)
    )
    check(malformed, 400)
    check(client.post("/api/v1/cancellations", data="x=1", headers=bearer(token)), 415)
    huge = {"customer": {"name": "x" * (app.config["API_MAX_BODY_BYTES"] + 1)}}
    check(client.post("/api/v1/cancellations", json=huge, headers=bearer(token)), 413)
    check(client.get("/api/v1/cancellations?page=0", headers=bearer(token)), 400)
    check(client.get("/api/v1/cancellations?page=²", headers=bearer(token)), 400)  # a digit to isdigit, not to int

    bad = body(owner_email="nobody@acme.test", cancelled_at="yesterday", feedback="bored")
    bad["customer"].update(email="not-an-address", mrr=-3, surprise=1, locale="not a tag!")
    invalid = check(client.post("/api/v1/cancellations", json=bad, headers=bearer(token)), 422)
    # Every invalid field at once, as the form and the CSV import name them, not the first one met.
    assert {e["field"] for e in invalid["errors"]} == {
        "cancelled_at", "feedback", "customer.surprise", "customer.email", "customer.mrr", "customer.locale",
        "owner_email",
    }  # fmt: skip
    bad["customer"].pop("surprise")
    bad.update(cancelled_at="2026-01-01T00:00:00Z", feedback="other")
    invalid = check(client.post("/api/v1/cancellations", json=bad, headers=bearer(token)), 422)
    assert {e["field"] for e in invalid["errors"]} == {
        "customer.email",
        "customer.mrr",
        "customer.locale",
        "owner_email",
    }
    invalid = check(
        client.post("/api/v1/cancellations", json=body(owner_email="nobody@acme.test"), headers=bearer(token)), 422
    )
    assert invalid["errors"] == [
        {"field": "owner_email", "message": "No staff member has the address 'nobody@acme.test'."}
    ]
    # Nothing was written by any of them.
    assert client.get("/api/v1/cancellations", headers=bearer(token)).json["total"] == 0


def test_csrf_still_guards_the_pages(client: FlaskClient, logged_in_owner: dict[str, Any]) -> None:
    assert client.post("/cancellations/new", data={"customer_name": "X"}).status_code == 400


def test_tokens_from_the_command_line(app: Flask, runner: Any, client: FlaskClient, owner: dict[str, Any]) -> None:
    created = runner.invoke(args=["tokens", "create", "Help desk", "--scope", "cancellations:read"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert client.get("/api/v1/cancellations", headers=bearer(token)).status_code == 200
    listed = runner.invoke(args=["tokens", "list"]).output
    assert "Help desk" in listed and "last used:" in listed and "never used" not in listed
    assert token not in listed
    assert runner.invoke(args=["tokens", "revoke", "1"]).exit_code == 0
    assert client.get("/api/v1/cancellations", headers=bearer(token)).status_code == 401


def test_admins_create_and_revoke_tokens_in_the_ui(
    client: FlaskClient, auth: Any, admin: dict[str, Any], owner: dict[str, Any]
) -> None:
    auth.login(owner["email"])
    assert client.get("/admin/tokens/").status_code == 403
    auth.logout()
    auth.login(admin["email"])
    page = submit_form(client, "/admin/tokens/", {"name": "CRM", "scopes": ["cancellations:read"]})
    assert page.status_code == 200
    token = page.text.split('id="new-token">')[1].split("<")[0]
    assert client.get("/api/v1/cancellations", headers=bearer(token)).status_code == 200
    listing = client.get("/admin/tokens/").text
    assert token not in listing and "CRM" in listing
    revoke = client.get("/admin/tokens/").text
    client.post("/admin/tokens/1/revoke", data={"csrf_token": csrf_token(revoke)})
    assert "Revoked" in client.get("/admin/tokens/").text
    assert client.get("/api/v1/cancellations", headers=bearer(token)).status_code == 401


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite serialises writers; the race needs PostgreSQL")
def test_concurrent_requests_with_one_idempotency_key_log_once(
    app_config: dict[str, Any], app: Flask, token: str
) -> None:
    def post(client: FlaskClient) -> tuple[int, int]:
        response = client.post("/api/v1/cancellations", json=body(), headers=bearer(token, **{"Idempotency-Key": "k1"}))
        return response.status_code, response.json["id"]

    answers = at_once(app_config, 10, post)
    assert {status for status, _ in answers} == {201} and len({id_ for _, id_ in answers}) == 1
    with app.app_context():
        assert len(db.session.scalars(db.select(Cancellation)).all()) == 1


def test_the_web_form_links_a_customer_record(app: Flask, owner: dict[str, Any]) -> None:
    first = log(app, owner["email"], customer_email="casey@client.test", customer_since=None)
    second = log(app, owner["email"], customer_email="casey@client.test")
    with app.app_context():
        one, two = db.session.get(Cancellation, first), db.session.get(Cancellation, second)
        assert one.customer is not None and one.customer_id == two.customer_id
        assert one.customer.email == "casey@client.test" and one.customer.owner_email == owner["email"]


def test_detail_carries_the_review_with_its_questions(app: Flask, client: FlaskClient, token: str, owner: Any) -> None:
    from feedback.auth.models import User
    from feedback.reviews.operations import review_version, submit_review

    created = client.post("/api/v1/cancellations", json=body(), headers=bearer(token)).json
    answers = {"this_week": "Budget froze", "relationship_history": "Quiet since spring", "action_items": "Call"}
    with app.app_context():
        cancellation = db.session.get(Cancellation, created["id"])
        version = review_version(cancellation)
        submit_review(cancellation, db.session.get(User, owner["id"]), answers, version.id)
        db.session.commit()
    review = client.get(f"/api/v1/cancellations/{created['id']}", headers=bearer(token)).json["review"]
    assert review["author"] == "Olivia Owner"
    first = review["answers"][0]
    assert first["key"] == "this_week" and first["answer"] == "Budget froze"
    assert first["question"] == "What happened this week? What was the final straw?"


def test_the_worker_forgets_idempotency_keys_after_a_day(app: Flask, client: FlaskClient, token: str) -> None:
    from datetime import timedelta

    from feedback.api.models import IdempotentRequest
    from feedback.db import utcnow

    for key in ("old-order", "new-order"):
        headers = bearer(token, **{"Idempotency-Key": key})
        item = body(reason=key)
        item["customer"].update(external_id=f"cus_{key}", email=f"{key}@northwind.test")  # two departures, not one
        assert client.post("/api/v1/cancellations", json=item, headers=headers).status_code == 201
    with app.app_context():
        db.session.execute(
            db.update(IdempotentRequest)
            .where(IdempotentRequest.key == "old-order")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        db.session.commit()
    jobs = run_jobs(app)
    assert jobs["api.forget-idempotency-keys"] == "1 idempotency key forgotten"
    with app.app_context():
        assert db.session.scalars(db.select(IdempotentRequest.key)).all() == ["new-order"]
    assert "api.forget-idempotency-keys" not in run_jobs(app)  # at most once an hour
    # The day-old key no longer replays: it logs anew, as Stripe's API does after 24 hours.
    again = client.post(
        "/api/v1/cancellations",
        json=body(reason="old-order"),
        headers=bearer(token, **{"Idempotency-Key": "old-order"}),
    )
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def test_a_currency_beside_mrr_is_kept_and_a_wrong_one_refused(client: FlaskClient, token: str) -> None:
    def priced(external_id: str, **money: Any) -> dict[str, Any]:
        sent = body()
        sent["customer"].update(external_id=external_id, email=f"{external_id}@northwind.test", **money)
        return sent

    logged = client.post(
        "/api/v1/cancellations", json=priced("cus_jp", mrr=5000, currency="jpy"), headers=bearer(token)
    )
    assert logged.status_code == 201, logged.json
    assert (logged.json["mrr"], logged.json["currency"], logged.json["customer"]["currency"]) == (5000, "JPY", "JPY")
    plain = client.post("/api/v1/cancellations", json=priced("cus_eu", mrr=49), headers=bearer(token))
    assert plain.status_code == 201 and plain.json["currency"] is None  # the company's
    refused = client.post("/api/v1/cancellations", json=priced("cus_x", currency="YEN"), headers=bearer(token))
    assert refused.status_code == 422
    assert any(e["field"] == "customer.currency" and "ISO 4217" in e["message"] for e in refused.json["errors"])


def test_a_token_created_on_a_terminal_is_alone_on_the_last_line(database_url: str, smtp: Any) -> None:
    """On a terminal stdout and stderr share the screen: the audit log line must not land after the token."""
    import os
    import pty
    import subprocess

    command, env = flask_command(database_url, smtp, "tokens", "create", "Terminal", "--scope", "cancellations:read")
    leader, follower = pty.openpty()
    with subprocess.Popen(command, env=env, stdout=follower, stderr=follower, close_fds=True) as process:
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the process ended and the terminal closed
                break
            if not chunk:
                break
            screen += chunk
    os.close(leader)
    assert process.returncode == 0, screen
    lines = screen.decode().replace("\r", "").strip().splitlines()
    assert lines[-1].startswith("fw_") and " " not in lines[-1], lines
    assert any("audit" in line for line in lines[:-1]), lines  # the log line is there, above
