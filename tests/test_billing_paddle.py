"""Paddle Billing's subscription events as feedback.billing's states: scheduled, stayed, ended, involuntary.

Events are Paddle's documented shapes (tests/fixtures/paddle/), signed with paddle-python-sdk's own code; the
customer's address comes from a local fake of Paddle's API (GET /customers/{id} with a Bearer key).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from concurrency import at_once
from conftest import TEST_DATABASE_URL, deliver, make_config
from flask import Flask
from flask.testing import FlaskClient
from paddle_billing.Notifications import Secret, Verifier
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from test_billing_stripe import cancellations, events, later, outbox, timeline
from werkzeug import Request, Response

from feedback.billing.models import BillingSubscription
from feedback.extensions import db
from feedback.webhooks.shapes import monthly
from feedback.webhooks.signatures import BadSignature, paddle_signature, verify_paddle

FIXTURES = Path(__file__).parent / "fixtures" / "paddle"
SECRET = "pdl_ntfset_01jfk6p3sjr6ty8m2e5v0tq9xa_Yq3s8Zl1fD7kN2mR4pV9wX6bC0hJ5tQe"
OLD_SECRET = "pdl_ntfset_01hzzzzzzzzzzzzzzzzzzzzzzz_retiredretiredretiredretired00"
API_KEY = "pdl_live_apikey_01jf0000000000000000000000_northwindreadonlykey"
CUSTOMER = "ctm_01jf6y1jedq4p1n0yqn5ba3ky4"
CUSTOMER_EMAIL = "jenny.rosen@northwind.test"


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def paddle_api(httpserver: HTTPServer) -> HTTPServer:
    """Paddle's API as documented: Bearer auth, 401 with an error document for a wrong key, 404 for no customer."""
    customer = json.loads((FIXTURES / "customer.json").read_text())

    def answer(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            error = {"type": "request_error", "code": "authentication_malformed", "detail": "Bad API key"}
            return Response(
                json.dumps({"error": error, "meta": {"request_id": "r1"}}), 403, mimetype="application/json"
            )
        if request.path != f"/customers/{CUSTOMER}":
            error = {"type": "request_error", "code": "entity_not_found", "detail": "Customer not found"}
            return Response(
                json.dumps({"error": error, "meta": {"request_id": "r2"}}), 404, mimetype="application/json"
            )
        return Response(json.dumps(customer), 200, mimetype="application/json")

    httpserver.expect_request(f"/customers/{CUSTOMER}", method="GET").respond_with_handler(answer)
    return httpserver


@pytest.fixture
def app_config(database_url: str, smtp: Any, paddle_api: HTTPServer) -> dict[str, Any]:
    return make_config(
        database_url,
        smtp,
        PADDLE_WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}",
        PADDLE_API_KEY=API_KEY,
        PADDLE_API_BASE=paddle_api.url_for("").rstrip("/"),
        SURVEY_DELAY_MINUTES=60,
    )


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed(raw: str, secret: str = SECRET, ts: int | None = None) -> str:
    """The header as Paddle makes it, with the SDK's own HMAC."""
    ts = int(time.time()) if ts is None else ts
    return f"ts={ts};h1=" + PaddleSignature.calculate_hmac(secret, f"{ts}:{raw}".encode()).hexdigest()


def post(client: FlaskClient, event: dict[str, Any], header: str | None = None) -> Any:
    raw = json.dumps(event)
    return client.post(
        "/webhooks/paddle",
        data=raw,
        headers={"Paddle-Signature": header or signed(raw), "Content-Type": "application/json"},
    )


class _Delivery:
    def __init__(self, body: bytes, header: str) -> None:
        self.body = body
        self.headers = {"Paddle-Signature": header}


def test_our_signatures_are_ones_paddles_verifier_accepts() -> None:
    raw = (FIXTURES / "subscription.canceled.json").read_bytes()
    ts = int(time.time())
    ours = f"ts={ts};h1={paddle_signature(SECRET, ts, raw)}"
    assert Verifier().verify(_Delivery(raw, ours), Secret(SECRET)) is True
    verify_paddle(raw, signed(raw.decode()), SECRET)  # and theirs, ours
    with pytest.raises(ConnectionRefusedError):
        Verifier().verify(_Delivery(raw, ours), [Secret(OLD_SECRET)])


def test_while_a_secret_rolls_any_h1_with_any_secret_will_do() -> None:
    raw = (FIXTURES / "subscription.canceled.json").read_bytes()
    ts = int(time.time())
    header = (
        f"ts={ts};h1={paddle_signature('pdl_ntfset_someone_else', ts, raw)};h1={paddle_signature(OLD_SECRET, ts, raw)}"
    )
    verify_paddle(raw, header, f"{SECRET}, {OLD_SECRET}")
    with pytest.raises(BadSignature):
        verify_paddle(raw, header, SECRET)
    with pytest.raises(BadSignature, match="five minutes"):
        verify_paddle(raw, f"ts={ts - 301};h1={paddle_signature(SECRET, ts - 301, raw)}", SECRET)


def test_a_scheduled_cancellation_is_surveyed_with_the_address_from_paddles_api(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    response = post(client, fixture("subscription.updated.scheduled"))
    assert response.status_code == 201, response.json
    [cancellation] = cancellations(app)
    assert (cancellation.billing_status, cancellation.cancels_on) == ("scheduled", "Cancels on 31 Dec 2026")
    assert (cancellation.customer_email, cancellation.customer_name) == (CUSTOMER_EMAIL, "Jenny Rosen")
    assert (cancellation.source, cancellation.plan, str(cancellation.mrr)) == ("paddle", "Northwind Team", "49.00")
    assert not cancellation.involuntary
    deliver(app, later(2))
    assert smtp.one(CUSTOMER_EMAIL, "Thank you")


def test_the_scheduled_change_removed_ends_it_as_stayed(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    post(client, fixture("subscription.updated.scheduled"))
    assert post(client, fixture("subscription.updated.removed")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "stayed"
    assert "undid the cancellation in Paddle" in timeline(cancellation)
    assert ("survey_invitation", "skipped") in outbox(app)
    assert [kind for kind, _ in events(app)] == [
        "cancellation.logged",
        "cancellation.scheduled",
        "cancellation.stayed",
    ]
    assert events(app)[2][1]["billing"] == "Paddle"
    deliver(app, later(48))
    assert smtp.to(CUSTOMER_EMAIL) == [] and smtp.one(admin["email"], "stayed after all")


def test_canceled_records_the_end_and_never_invites_twice(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    post(client, fixture("subscription.updated.scheduled"))
    deliver(app, later(2))
    assert post(client, fixture("subscription.canceled")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "ended" and "The subscription ended 31 Dec 2026" in timeline(cancellation)
    deliver(app, later(4))
    assert len(smtp.to(CUSTOMER_EMAIL)) == 1


def test_canceled_without_a_schedule_is_logged_then(app: Flask, client: FlaskClient, admin: Any) -> None:
    assert post(client, fixture("subscription.canceled")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "ended" and not cancellation.involuntary


def test_cancelled_while_past_due_is_involuntary_and_surveys_no_one(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    assert post(client, fixture("subscription.past_due")).status_code == 201
    assert cancellations(app) == []
    post(client, fixture("subscription.canceled"))
    [cancellation] = cancellations(app)
    assert cancellation.involuntary and outbox(app) == []
    deliver(app, later(2))
    assert smtp.messages == []


def test_a_payment_recovered_before_the_cancellation_is_voluntary_again(
    app: Flask, client: FlaskClient, admin: Any
) -> None:
    post(client, fixture("subscription.past_due"))
    recovered = fixture("subscription.updated.removed")  # status active again, a day later
    assert post(client, recovered).status_code == 201  # nothing about cancelling, but the payment is remembered
    post(client, fixture("subscription.canceled"))
    [cancellation] = cancellations(app)
    assert not cancellation.involuntary


def test_without_an_api_key_it_waits_for_contact_details(app: Flask, client: FlaskClient, admin: Any) -> None:
    app.config["PADDLE_API_KEY"] = ""
    post(client, fixture("subscription.updated.scheduled"))
    [cancellation] = cancellations(app)
    assert cancellation.state == "needs_contact" and cancellation.customer_email == ""


def test_a_wrong_api_key_waits_for_contact_details(app: Flask, client: FlaskClient, admin: Any) -> None:
    app.config["PADDLE_API_KEY"] = "pdl_live_apikey_wrong"
    assert post(client, fixture("subscription.updated.scheduled")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.state == "needs_contact"


def test_an_undo_delivered_before_its_schedule_changes_nothing_later(
    app: Flask, client: FlaskClient, admin: Any
) -> None:
    post(client, fixture("subscription.updated.scheduled"))
    post(client, fixture("subscription.canceled"))
    post(client, fixture("subscription.updated.removed"))  # older than the end: an ended subscription stays ended
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "ended"


def test_repeated_deliveries_are_answered_once(app: Flask, client: FlaskClient, admin: Any) -> None:
    first, again = (
        post(client, fixture("subscription.updated.scheduled")),
        post(client, fixture("subscription.updated.scheduled")),
    )
    assert (first.status_code, again.status_code, again.json["duplicate"]) == (201, 200, True)
    assert len(cancellations(app)) == 1


def test_a_yen_plan_counts_in_whole_yen(app: Flask, client: FlaskClient, auth: Any, admin: Any) -> None:
    event = fixture("subscription.updated.scheduled")
    event["data"]["currency_code"] = "JPY"
    item = event["data"]["items"][0]
    item.update(quantity=1)
    item["price"]["unit_price"] = {"amount": "60000", "currency_code": "JPY"}
    item["price"]["billing_cycle"] = {"interval": "year", "frequency": 1}
    post(client, event)
    [cancellation] = cancellations(app)
    assert (str(cancellation.mrr), cancellation.currency) == ("5000.00", "JPY")
    auth.login(admin["email"])
    assert "¥5,000" in client.get(f"/cancellations/{cancellation.id}").text
    assert "¥5,000" in client.get("/cancellations/").text


def test_dollars_are_shown_in_dollars(app: Flask, client: FlaskClient, auth: Any, admin: Any) -> None:
    post(client, fixture("subscription.updated.scheduled"))
    [cancellation] = cancellations(app)
    assert cancellation.currency == "USD"
    auth.login(admin["email"])
    page = client.get(f"/cancellations/{cancellation.id}").text
    assert "$49.00" in page and "€49.00" not in page


# --- The same guarantees as every way in -----------------------------------------------------------------


def test_unsigned_wrongly_signed_or_stale_is_refused_and_stores_nothing(
    app: Flask, client: FlaskClient, admin: Any
) -> None:
    event = fixture("subscription.updated.scheduled")
    raw = json.dumps(event)
    for header in ("", "ts=1;h1=00", signed(raw, "pdl_ntfset_wrong"), signed(raw, ts=int(time.time()) - 301)):
        response = client.post("/webhooks/paddle", data=raw, headers={"Paddle-Signature": header})
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert cancellations(app) == []


def test_a_malformed_signed_body_is_a_400_naming_the_place(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = fixture("subscription.updated.scheduled")
    event["data"]["items"][0]["price"]["unit_price"]["amount"] = 9.8
    response = post(client, event)
    assert response.status_code == 400 and "data.items[0].price.unit_price.amount" in response.json["detail"]
    event = fixture("subscription.updated.scheduled")
    event["data"]["scheduled_change"]["effective_at"] = "the end of the month"
    response = post(client, event)
    assert response.status_code == 400 and "effective_at" in response.json["detail"]
    event = fixture("subscription.updated.scheduled")
    event["data"]["currency_code"] = "XYZ1"
    assert "currency_code" in post(client, event).json["detail"]
    raw = "[1, 2"
    assert client.post("/webhooks/paddle", data=raw, headers={"Paddle-Signature": signed(raw)}).status_code == 400
    assert cancellations(app) == []


def test_unknown_event_types_are_acknowledged_and_ignored(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = fixture("subscription.canceled")
    event["event_type"] = "transaction.completed"
    response = post(client, event)
    assert response.status_code == 200 and response.json["ignored"] == "transaction.completed"
    assert cancellations(app) == []


def test_an_ordinary_update_of_a_subscription_never_scheduled_is_ignored(
    app: Flask, client: FlaskClient, admin: Any
) -> None:
    response = post(client, fixture("subscription.updated.removed"))
    assert response.status_code == 200 and "nothing about cancelling changed" in response.json["ignored"]
    with app.app_context():
        assert db.session.scalars(select(BillingSubscription)).all() == []


def test_503_while_the_secret_is_unset(app: Flask, client: FlaskClient) -> None:
    app.config["PADDLE_WEBHOOK_SECRET"] = ""
    response = post(client, fixture("subscription.canceled"))
    assert response.status_code == 503 and "PADDLE_WEBHOOK_SECRET" in response.json["detail"]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite serialises writers; the race needs PostgreSQL")
def test_twenty_parallel_deliveries_give_one_postmortem(app_config: dict[str, Any], admin: Any, app: Flask) -> None:
    raw = json.dumps(fixture("subscription.updated.scheduled"))
    headers = {"Paddle-Signature": signed(raw), "Content-Type": "application/json"}
    statuses = at_once(app_config, 20, lambda c: c.post("/webhooks/paddle", data=raw, headers=headers).status_code)
    assert sorted(statuses) == [200] * 19 + [201]
    assert len(cancellations(app)) == 1


@pytest.mark.parametrize(
    ("amount", "quantity", "interval", "count", "digits", "per_month"),
    [
        (4900, 3, "month", 1, 2, "147.00"),  # 3 seats at $49.00
        (60000, 1, "year", 1, 0, "5000.00"),  # ¥60,000 a year
        (29400, 1, "month", 6, 2, "49.00"),  # $294.00 every six months
        (12000, 1, "week", 1, 3, "52.00"),  # BHD 12.000 a week, 52 weeks in 12 months
        (1000, 1, "day", 1, 2, "304.17"),  # $10.00 a day
    ],
)
def test_a_price_per_period_is_revenue_per_month(
    amount: int, quantity: int, interval: str, count: int, digits: int, per_month: str
) -> None:
    assert str(monthly(amount, quantity, interval, count, digits)) == per_month
    assert monthly(amount, quantity, "fortnight", count, digits) is None
