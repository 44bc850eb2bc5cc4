"""Stripe and Standard Webhooks: signatures, idempotency (also concurrent), contact details, pre-selection."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from concurrency import at_once
from conftest import TEST_DATABASE_URL, deliver, free_port, link_in, make_config, submit_form, text_part
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.postmortem.models import Cancellation, Customer
from feedback.webhooks.signatures import standard_signature, stripe_signature

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
STRIPE_SECRET = "whsec_test_5d41402abc4b2a76b9719d911017c592"
OLD_STRIPE_SECRET = "whsec_test_old_7215ee9c7d9dc229d2921a40e899ec5f"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"farewell-standard-webhooks-key!!").decode()


def stripe_event(name: str = "customer.subscription.deleted") -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def expanded_event() -> dict[str, Any]:
    event = stripe_event()
    event["data"]["object"]["customer"] = json.loads((FIXTURES / "customer.expanded.json").read_text())
    return event


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET, WEBHOOK_SECRET=STANDARD_SECRET)


def stripe_headers(raw: bytes, secrets: tuple[str, ...] = (STRIPE_SECRET,), at: int | None = None) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    signatures = ",".join(f"v1={stripe_signature(secret, at, raw)}" for secret in secrets)
    return {"Stripe-Signature": f"t={at},{signatures}", "Content-Type": "application/json"}


def post_stripe(client: FlaskClient, event: dict[str, Any], **signing: Any) -> Any:
    raw = json.dumps(event).encode()
    return client.post("/webhooks/stripe", data=raw, headers=stripe_headers(raw, **signing))


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Cancellation)) or 0


def only_cancellation(app: Flask) -> Cancellation:
    with app.app_context():
        found = db.session.scalars(select(Cancellation)).one()
        db.session.expunge(found)
        return found


# --- Stripe signatures ------------------------------------------------------------------------------


def test_stripe_signature_valid_invalid_stale_and_rotated(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = expanded_event()
    raw = json.dumps(event).encode()
    wrong = client.post("/webhooks/stripe", data=raw, headers=stripe_headers(raw, secrets=("whsec_wrong",)))
    assert wrong.status_code == 400 and wrong.mimetype == "application/problem+json"
    stale = client.post("/webhooks/stripe", data=raw, headers=stripe_headers(raw, at=int(time.time()) - 301))
    assert stale.status_code == 400 and "five minutes" in stale.json["detail"]
    tampered = client.post("/webhooks/stripe", data=raw + b" ", headers=stripe_headers(raw))
    assert tampered.status_code == 400
    assert client.post("/webhooks/stripe", data=raw).status_code == 400
    # Headers arrive as latin-1 text: odd characters are a bad signature, not a crash.
    for header in ("t=²,v1=abc", f"t={int(time.time())},v1=\u00e9\u00e9", "t=,v1=", "v1=abc"):
        odd = client.post("/webhooks/stripe", data=raw, headers={"Stripe-Signature": header})
        assert odd.status_code == 400 and odd.mimetype == "application/problem+json", header
    assert count(app) == 0
    # During a rotation Stripe signs with the old and the new secret; one v1 that matches is enough.
    rotated = client.post(
        "/webhooks/stripe", data=raw, headers=stripe_headers(raw, secrets=("whsec_old", STRIPE_SECRET))
    )
    assert rotated.status_code == 201, rotated.json
    assert count(app) == 1


def test_stripe_accepts_our_own_rotation_of_secrets(app_config: dict[str, Any], admin: Any, app: Flask) -> None:
    app.config["STRIPE_WEBHOOK_SECRET"] = f"{STRIPE_SECRET},{OLD_STRIPE_SECRET}"
    response = post_stripe(app.test_client(), expanded_event(), secrets=(OLD_STRIPE_SECRET,))
    assert response.status_code == 201


def test_other_event_types_are_acknowledged_without_acting(app: Flask, client: FlaskClient, admin: Any) -> None:
    response = post_stripe(client, stripe_event("invoice.paid"))
    assert response.status_code == 200 and response.json == {"received": True, "ignored": "invoice.paid"}
    assert count(app) == 0


def test_unconfigured_secret_is_a_503(app: Flask, client: FlaskClient) -> None:
    app.config["STRIPE_WEBHOOK_SECRET"] = ""
    response = post_stripe(client, expanded_event())
    assert response.status_code == 503 and response.mimetype == "application/problem+json"


# --- Stripe: what gets logged -----------------------------------------------------------------------


def test_expanded_customer_is_logged_with_plan_mrr_tenure_and_feedback(
    app: Flask, client: FlaskClient, admin: Any, owner: Any, smtp: Any
) -> None:
    response = post_stripe(client, expanded_event())
    assert response.status_code == 201
    cancellation = only_cancellation(app)
    assert (cancellation.customer_name, cancellation.customer_email) == ("Jenny Rosen", "jenny.rosen@northwind.test")
    assert cancellation.company == "Northwind Traders" and cancellation.plan == "Team"
    assert str(cancellation.mrr) == "147.00"  # 3 seats at $49.00 a month
    assert cancellation.feedback == "switched_service" and "BI tool" in cancellation.comment
    assert cancellation.source == "stripe" and cancellation.reason == "Cancelled by the customer"
    assert cancellation.owner_id == admin["id"]  # no owner known: the first admin
    deliver(app)
    survey = client.get(link_in(smtp.one("jenny.rosen@northwind.test", "Thank you")))
    # The main reason is pre-selected from what the customer told Stripe.
    assert 'value="We moved to another product" checked' in survey.text


def test_redelivery_is_a_no_op(app: Flask, client: FlaskClient, admin: Any) -> None:
    first = post_stripe(client, expanded_event())
    again = post_stripe(client, expanded_event())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["duplicate"] is True and again.json["cancellation"]["id"] == first.json["cancellation"]["id"]
    assert count(app) == 1


def test_event_ids_are_remembered_for_30_days(app: Flask, client: FlaskClient, admin: Any) -> None:
    from datetime import timedelta

    from conftest import run_jobs

    from feedback.db import utcnow
    from feedback.webhooks.models import ProcessedWebhook

    assert post_stripe(client, expanded_event()).status_code == 201
    assert run_jobs(app, now=utcnow() + timedelta(days=29))["webhooks.forget-event-ids"] == ""
    assert post_stripe(client, expanded_event()).json["duplicate"] is True  # still remembered
    assert (
        run_jobs(app, now=utcnow() + timedelta(days=31))["webhooks.forget-event-ids"] == "1 webhook event id forgotten"
    )
    with app.app_context():
        assert db.session.scalars(db.select(ProcessedWebhook)).all() == []


def test_known_customer_supplies_contact_details(app: Flask, client: FlaskClient, admin: Any, owner: Any) -> None:
    with app.app_context():
        db.session.add(
            Customer(
                external_id="cus_RWk3pQ1vX8yZ2a",
                name="Jenny Rosen",
                email="jenny@known.test",
                owner_email=owner["email"],
            )
        )
        db.session.commit()
    assert post_stripe(client, stripe_event()).status_code == 201
    cancellation = only_cancellation(app)
    assert cancellation.customer_email == "jenny@known.test" and cancellation.owner_id == owner["id"]
    assert cancellation.state == "logged"


class FakeStripe(BaseHTTPRequestHandler):
    """Stripe's GET /v1/customers/ID, on loopback, since the tests can't reach the internet."""

    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        FakeStripe.seen.append((self.path, self.headers.get("Authorization", "")))
        if self.path == "/v1/customers/cus_RWk3pQ1vX8yZ2a":
            body, status = (FIXTURES / "customer.expanded.json").read_bytes(), 200
        else:
            body, status = b'{"error": {"type": "invalid_request_error"}}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_stripe() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeStripe.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_stripe_api_supplies_contact_details(app: Flask, client: FlaskClient, admin: Any, fake_stripe: str) -> None:
    app.config.update(STRIPE_API_KEY="sk_test_123", STRIPE_API_BASE=fake_stripe)
    assert post_stripe(client, stripe_event()).status_code == 201
    assert FakeStripe.seen == [("/v1/customers/cus_RWk3pQ1vX8yZ2a", "Bearer sk_test_123")]
    assert only_cancellation(app).customer_email == "jenny.rosen@northwind.test"


def test_without_contact_details_staff_complete_them(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, fake_stripe: str, smtp: Any
) -> None:
    event = stripe_event()
    event["data"]["object"]["customer"] = "cus_unknown"
    app.config.update(STRIPE_API_KEY="sk_test_123", STRIPE_API_BASE=fake_stripe)  # Stripe answers 404
    assert post_stripe(client, event).status_code == 201
    cancellation = only_cancellation(app)
    assert cancellation.state == "needs_contact" and cancellation.customer_email == ""
    deliver(app)
    assert smtp.messages == []  # no survey, and no review request until the customer can be asked too

    auth.login(admin["email"])
    listing = client.get("/cancellations/?state=needs_contact").text
    assert "Needs contact details" in listing
    page = client.get(f"/cancellations/{cancellation.id}").text
    assert "Add their contact details" in page
    bad = submit_form(
        client, f"/cancellations/{cancellation.id}/contact", {"customer_name": "Al", "customer_email": "x"}
    )
    assert bad.status_code == 422 and "not valid" in bad.text
    done = submit_form(
        client,
        f"/cancellations/{cancellation.id}/contact",
        {"customer_name": "Al Bundy", "customer_email": "al@shoes.test"},
    )
    assert done.status_code == 302
    assert only_cancellation(app).state == "logged"
    deliver(app)
    assert smtp.one("al@shoes.test", "Thank you")
    assert smtp.one(admin["email"], "your review")


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite serialises writers; the race needs PostgreSQL")
def test_twenty_concurrent_deliveries_give_one_cancellation(app_config: dict[str, Any], admin: Any, app: Flask) -> None:
    raw = json.dumps(expanded_event()).encode()
    headers = stripe_headers(raw)
    statuses = at_once(
        app_config, 20, lambda client: client.post("/webhooks/stripe", data=raw, headers=headers).status_code
    )
    assert sorted(statuses) == [200] * 19 + [201]
    assert count(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 1


# --- Standard Webhooks --------------------------------------------------------------------------------


def standard_headers(
    raw: bytes, webhook_id: str = "msg_1", secrets: tuple[str, ...] = (STANDARD_SECRET,), at: int | None = None
) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(at),
        "webhook-signature": " ".join(standard_signature(s, webhook_id, at, raw) for s in secrets),
        "Content-Type": "application/json",
    }


def cancellation_body(owner_email: str) -> bytes:
    customer = {"external_id": "crm-81", "name": "Bo Brink", "email": "bo@brink.test", "mrr": 20}
    return json.dumps({"customer": customer, "owner_email": owner_email, "reason": "Closed the shop"}).encode()


def test_standard_webhooks_signatures_and_idempotency(app: Flask, client: FlaskClient, owner: Any) -> None:
    raw = cancellation_body(owner["email"])
    other_key = "whsec_" + base64.b64encode(b"another-key-another-key-another!").decode()
    assert (
        client.post(
            "/webhooks/cancellations", data=raw, headers=standard_headers(raw, secrets=(other_key,))
        ).status_code
        == 400
    )
    stale = standard_headers(raw, at=int(time.time()) - 600)
    assert client.post("/webhooks/cancellations", data=raw, headers=stale).status_code == 400
    forged = standard_headers(raw)
    assert client.post("/webhooks/cancellations", data=raw.replace(b"Bo", b"Al"), headers=forged).status_code == 400
    assert count(app) == 0

    rotated = standard_headers(raw, secrets=(other_key, STANDARD_SECRET))
    first = client.post("/webhooks/cancellations", data=raw, headers=rotated)
    assert first.status_code == 201, first.json
    assert first.json["cancellation"]["customer"]["external_id"] == "crm-81"
    again = client.post("/webhooks/cancellations", data=raw, headers=standard_headers(raw))
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert count(app) == 1


def test_standard_webhooks_invalid_body_is_a_422_and_keeps_nothing(app: Flask, client: FlaskClient, owner: Any) -> None:
    raw = cancellation_body("nobody@acme.test")
    response = client.post("/webhooks/cancellations", data=raw, headers=standard_headers(raw, "msg_2"))
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"field": "owner_email", "message": "No staff member has the address 'nobody@acme.test'."}
    ]
    fixed = cancellation_body(owner["email"])
    assert (
        client.post("/webhooks/cancellations", data=fixed, headers=standard_headers(fixed, "msg_2")).status_code == 201
    )


def test_summary_shows_tenure_and_stripe_feedback(app: Flask, client: FlaskClient, auth: Any, admin: Any) -> None:
    post_stripe(client, expanded_event())
    cancellation = only_cancellation(app)
    auth.login(admin["email"])
    page = client.get(f"/cancellations/{cancellation.id}/summary").text
    assert "Tenure" in page and "1 year" in page
    assert "We moved to another product" in page and "BI tool" in page and "147.00" in page


def test_a_review_written_while_contact_is_missing_waits_for_the_customer(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, smtp: Any
) -> None:
    event = stripe_event()
    event["data"]["object"]["customer"] = "cus_nobody"
    post_stripe(client, event)
    cancellation_id = only_cancellation(app).id
    auth.login(admin["email"])
    review = {
        "this_week": "They moved to a BI tool.",
        "relationship_history": "Dashboards only.",
        "action_items": "Ship exports",
        "icp_fit": "Partly",
        "avoidable": "Maybe",
    }
    assert submit_form(client, f"/cancellations/{cancellation_id}/review", review).status_code == 302
    assert only_cancellation(app).state == "needs_contact"  # no summary yet: the customer hasn't been asked
    contact = {"customer_name": "Jenny Rosen", "customer_email": "jenny@northwind.test"}
    submit_form(client, f"/cancellations/{cancellation_id}/contact", contact)
    assert only_cancellation(app).state == "reviewed"
    deliver(app)
    assert [str(m["To"]) for m in smtp.messages] == ["Jenny Rosen <jenny@northwind.test>"]  # no second review request

    # The customer answers: the summary email carries tenure, MRR lost and what they told Stripe.
    survey_url = link_in(smtp.one("jenny@northwind.test", "Thank you"))
    assert client.get(survey_url).status_code == 200
    assert client.post(survey_url, data={"main_reason": "We moved to another product"}).status_code == 303
    deliver(app)
    summary = text_part(smtp.one(admin["email"], "Summary"))
    assert "Tenure: 1 year" in summary and "Told Stripe: We moved to another product" in summary
    assert "Their comment: We only used the dashboards" in summary


def test_an_unreachable_stripe_api_leaves_it_waiting_for_contact(app: Flask, client: FlaskClient, admin: Any) -> None:
    app.config.update(STRIPE_API_KEY="sk_test_123", STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    assert post_stripe(client, stripe_event()).status_code == 201
    assert only_cancellation(app).state == "needs_contact"


# --- Malformed but signed Stripe events ----------------------------------------------------------------------

ODD_VALUES = [None, 1.5, "2", -1, 10**20, True, [], {}, "", "\x00", "x" * 300, [1], {"a": 1}]
#: Every place in the event that Farewell reads, as a path of keys and list indexes.
READ_PATHS = [
    ("id",),
    ("created",),
    ("data",),
    ("data", "object"),
    ("data", "object", "customer"),
    ("data", "object", "start_date"),
    ("data", "object", "canceled_at"),
    ("data", "object", "ended_at"),
    ("data", "object", "cancellation_details"),
    ("data", "object", "cancellation_details", "reason"),
    ("data", "object", "cancellation_details", "feedback"),
    ("data", "object", "cancellation_details", "comment"),
    ("data", "object", "items"),
    ("data", "object", "items", "data"),
    ("data", "object", "items", "data", 0),
    ("data", "object", "items", "data", 0, "quantity"),
    ("data", "object", "items", "data", 0, "price"),
    ("data", "object", "items", "data", 0, "price", "unit_amount"),
    ("data", "object", "items", "data", 0, "price", "nickname"),
    ("data", "object", "items", "data", 0, "price", "lookup_key"),
    ("data", "object", "items", "data", 0, "price", "product"),
    ("data", "object", "items", "data", 0, "price", "recurring"),
    ("data", "object", "items", "data", 0, "price", "recurring", "interval"),
    ("data", "object", "items", "data", 0, "price", "recurring", "interval_count"),
]
EXPANDED_PATHS = [
    ("data", "object", "customer", "id"),
    ("data", "object", "customer", "name"),
    ("data", "object", "customer", "email"),
    ("data", "object", "customer", "metadata"),
    ("data", "object", "customer", "metadata", "company"),
    ("data", "object", "customer", "metadata", "owner_email"),
]


def mutated(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(event))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_signed_but_malformed_stripe_events_are_a_400_never_a_500(app: Flask, client: FlaskClient, admin: Any) -> None:
    """quantity 1.5 or "2", items not a list, start_date 10^20, a wrong type anywhere Farewell reads."""
    answers: dict[int, int] = {}
    cases = [(stripe_event(), path) for path in READ_PATHS] + [(expanded_event(), path) for path in EXPANDED_PATHS]
    for n, (event, path) in enumerate(cases):
        for m, value in enumerate(ODD_VALUES):
            bad = mutated(event, path, value)
            bad["id"] = f"evt_mutation_{n}_{m}" if path != ("id",) else value
            response = post_stripe(client, bad)
            assert response.status_code < 500, (path, value, response.json)
            assert response.status_code in (200, 201, 400, 422), (path, value, response.status_code)
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json"
            answers[response.status_code] = answers.get(response.status_code, 0) + 1
    for path, value in (
        (("data", "object", "items", "data", 0, "quantity"), 1.5),
        (("data", "object", "items", "data", 0, "quantity"), "2"),
        (("data", "object", "items"), []),
        (("data", "object", "start_date"), 10**20),
    ):
        bad = mutated(stripe_event(), path, value)
        bad["id"] = f"evt_named_{path[-1]}"
        response = post_stripe(client, bad)
        assert response.status_code == 400, (path, value, response.json)
        assert response.json["detail"].startswith("The event is not shaped as Stripe sends it")
    assert answers.get(400, 0) > 100
