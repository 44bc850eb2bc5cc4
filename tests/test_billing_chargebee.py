"""Chargebee's subscription events as feedback.billing's states: scheduled, stayed, ended, involuntary.

Events are Chargebee's documented API v2 shapes (tests/fixtures/chargebee/), sent with HTTP Basic credentials as
Chargebee's webhook settings configure them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from concurrency import at_once
from conftest import TEST_DATABASE_URL, deliver, make_config
from flask import Flask
from flask.testing import FlaskClient
from test_billing_stripe import cancellations, events, later, outbox, timeline

FIXTURES = Path(__file__).parent / "fixtures" / "chargebee"
USERNAME = "chargebee-northwind"
PASSWORD = "c0rrect horse: battery staple"  # a colon and a space, as Chargebee allows
CUSTOMER_EMAIL = "jenny.rosen@northwind.test"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(
        database_url,
        smtp,
        CHARGEBEE_WEBHOOK_USERNAME=USERNAME,
        CHARGEBEE_WEBHOOK_PASSWORD=PASSWORD,
        SURVEY_DELAY_MINUTES=60,
    )


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def basic(username: str = USERNAME, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def post(client: FlaskClient, event: dict[str, Any] | str, authorization: str | None = None) -> Any:
    raw = event if isinstance(event, str) else json.dumps(event)
    headers = {"Content-Type": "application/json"}
    if authorization != "":
        headers["Authorization"] = authorization or basic()
    return client.post("/webhooks/chargebee", data=raw, headers=headers)


def test_a_scheduled_cancellation_is_surveyed_with_the_chosen_reason_preselected(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    response = post(client, fixture("subscription_cancellation_scheduled"))
    assert response.status_code == 201, response.json
    [cancellation] = cancellations(app)
    assert (cancellation.billing_status, cancellation.cancels_on) == ("scheduled", "Cancels on 31 Dec 2026")
    assert (cancellation.customer_name, cancellation.customer_email) == ("Jenny Rosen", CUSTOMER_EMAIL)
    assert (cancellation.company, cancellation.source, cancellation.feedback) == (
        "Northwind Traders",
        "chargebee",
        "too_expensive",
    )
    assert (cancellation.plan, str(cancellation.mrr)) == ("team-plan-USD-monthly", "49.00")  # the setup fee is no MRR
    deliver(app, later(2))
    assert smtp.one(CUSTOMER_EMAIL, "Thank you")


def test_the_removed_cancellation_ends_it_as_stayed(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    post(client, fixture("subscription_cancellation_scheduled"))
    assert post(client, fixture("subscription_scheduled_cancellation_removed")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "stayed" and "in Chargebee" in timeline(cancellation)
    assert ("survey_invitation", "skipped") in outbox(app)
    assert [kind for kind, _ in events(app)] == [
        "cancellation.logged",
        "cancellation.scheduled",
        "cancellation.stayed",
    ]
    assert events(app)[2][1]["billing"] == "Chargebee"
    deliver(app, later(48))
    assert smtp.to(CUSTOMER_EMAIL) == [] and smtp.one(admin["email"], "stayed after all")


def test_cancelled_records_the_end_and_never_invites_twice(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    post(client, fixture("subscription_cancellation_scheduled"))
    deliver(app, later(2))
    assert post(client, fixture("subscription_cancelled")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "ended"
    deliver(app, later(4))
    assert len(smtp.to(CUSTOMER_EMAIL)) == 1


def test_not_paid_is_involuntary_and_surveys_no_one(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    assert post(client, fixture("subscription_cancelled.not_paid")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.involuntary and cancellation.reason == "Not paid" and outbox(app) == []
    deliver(app, later(2))
    assert smtp.messages == []


def test_no_card_is_involuntary_too(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = fixture("subscription_cancelled.not_paid")
    event["content"]["subscription"]["cancel_reason"] = "no_card"
    post(client, event)
    [cancellation] = cancellations(app)
    assert cancellation.involuntary and cancellation.reason == "No card on file"


def test_an_older_sites_plan_amount_and_yearly_yen(app: Flask, client: FlaskClient, admin: Any) -> None:
    post(client, fixture("subscription_cancelled.plan_amount"))
    [cancellation] = cancellations(app)
    assert (cancellation.plan, str(cancellation.mrr)) == ("team-yearly-jpy", "5000.00")  # ¥60,000 a year


def test_a_reason_code_of_the_sites_own_is_kept_as_the_comment(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = fixture("subscription_cancellation_scheduled")
    event["content"]["subscription"]["cancel_reason_code"] = "Moved to spreadsheets"
    post(client, event)
    [cancellation] = cancellations(app)
    assert (cancellation.feedback, cancellation.comment) == ("", "Moved to spreadsheets")


def test_an_undo_delivered_before_its_schedule_leaves_no_postmortem(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    post(client, fixture("subscription_scheduled_cancellation_removed"))
    post(client, fixture("subscription_cancellation_scheduled"))  # older than the undo: changes nothing
    assert cancellations(app) == []


def test_repeated_deliveries_are_answered_once(app: Flask, client: FlaskClient, admin: Any) -> None:
    first = post(client, fixture("subscription_cancellation_scheduled"))
    again = post(client, fixture("subscription_cancellation_scheduled"))
    assert (first.status_code, again.status_code, again.json["duplicate"]) == (201, 200, True)
    assert len(cancellations(app)) == 1


# --- The same guarantees as every way in -----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        basic(password="wrong"),
        basic(username="someone"),
        "Bearer x",
        "Basic not-base64!",
        basic(PASSWORD, USERNAME),
    ],
)
def test_without_the_right_credentials_it_is_a_401_and_stores_nothing(
    app: Flask, client: FlaskClient, admin: Any, authorization: str
) -> None:
    response = post(client, fixture("subscription_cancellation_scheduled"), authorization)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert cancellations(app) == []


def test_a_malformed_body_is_a_400_naming_the_place(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = fixture("subscription_cancellation_scheduled")
    event["content"]["subscription"]["subscription_items"][0]["quantity"] = 1.5
    response = post(client, event)
    assert response.status_code == 400 and "subscription_items[0].quantity" in response.json["detail"]
    event = fixture("subscription_cancellation_scheduled")
    del event["content"]["subscription"]["cancelled_at"]
    assert "cancelled_at" in post(client, event).json["detail"]
    event = fixture("subscription_cancelled")
    event["occurred_at"] = "yesterday"
    assert "occurred_at" in post(client, event).json["detail"]
    assert post(client, "{not json").status_code == 400
    assert cancellations(app) == []


def test_unknown_event_types_are_acknowledged_and_ignored(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = fixture("subscription_cancelled")
    event["event_type"] = "invoice_generated"
    response = post(client, event)
    assert response.status_code == 200 and response.json["ignored"] == "invoice_generated"
    assert cancellations(app) == []


def test_503_while_the_credentials_are_unset(app: Flask, client: FlaskClient) -> None:
    app.config["CHARGEBEE_WEBHOOK_PASSWORD"] = ""
    response = post(client, fixture("subscription_cancelled"))
    assert response.status_code == 503 and "CHARGEBEE_WEBHOOK_PASSWORD" in response.json["detail"]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite serialises writers; the race needs PostgreSQL")
def test_twenty_parallel_deliveries_give_one_postmortem(app_config: dict[str, Any], admin: Any, app: Flask) -> None:
    raw = json.dumps(fixture("subscription_cancellation_scheduled"))
    headers = {"Authorization": basic(), "Content-Type": "application/json"}
    statuses = at_once(app_config, 20, lambda c: c.post("/webhooks/chargebee", data=raw, headers=headers).status_code)
    assert sorted(statuses) == [200] * 19 + [201]
    assert len(cancellations(app)) == 1


def test_a_dinar_plan_keeps_its_three_minor_digits_apart_from_the_companys_currency(
    app: Flask, client: FlaskClient, auth: Any, admin: Any
) -> None:
    event = fixture("subscription_cancelled")
    subscription = event["content"]["subscription"]
    subscription["currency_code"] = "BHD"
    subscription["subscription_items"] = [
        {"item_price_id": "team-BHD", "item_type": "plan", "quantity": 1, "amount": 19500}
    ]
    post(client, event)
    [cancellation] = cancellations(app)
    assert (str(cancellation.mrr), cancellation.currency) == ("19.50", "BHD")  # 19.500 dinars
    auth.login(admin["email"])
    assert "BHD" in client.get(f"/cancellations/{cancellation.id}").text
