"""One postmortem per departure, whichever way it arrives: the API, a webhook, Stripe and the staff form join the
customer's open postmortem instead of starting a second one (issue 25, item 7)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from conftest import deliver, log, make_config, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from feedback.api.tokens import create_token
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.summaries.models import Summary

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
STRIPE_SECRET = "whsec_test_one_postmortem_5b2e"
JENNY = "jenny.rosen@northwind.test"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)


@pytest.fixture
def token(app: Flask, owner: dict[str, Any]) -> str:
    with app.app_context():
        plain = create_token("Billing sync")[1]
        db.session.commit()
        return plain


def api_body(owner_email: str, **customer: Any) -> dict[str, Any]:
    return {
        "customer": {"name": "Jenny Rosen", "email": JENNY, **customer},
        "owner_email": owner_email,
        "reason": "Budget cuts",
    }


def post_api(client: FlaskClient, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/cancellations", json=body, headers={"Authorization": f"Bearer {token}"})


def post_stripe(client: FlaskClient, event: dict[str, Any]) -> Any:
    raw = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(raw, STRIPE_SECRET)
    return client.post("/webhooks/stripe", data=raw, headers={"Stripe-Signature": header})


def stripe_deleted() -> dict[str, Any]:
    event = json.loads((FIXTURES / "customer.subscription.deleted.json").read_text())
    event["data"]["object"]["customer"] = json.loads((FIXTURES / "customer.expanded.json").read_text())
    return event


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Cancellation)) or 0


def timeline(app: Flask, cancellation_id: int) -> str:
    with app.app_context():
        return "\n".join(e.detail for e in db.session.get(Cancellation, cancellation_id).events)


def test_the_api_joins_an_open_postmortem_and_says_merged(
    app: Flask, client: FlaskClient, token: str, owner: Any, smtp: Any
) -> None:
    first = post_api(client, token, api_body(owner["email"]))
    assert first.status_code == 201 and first.json["merged"] is False
    again = post_api(client, token, api_body(owner["email"], plan="Team", mrr=49))
    assert again.status_code == 200 and again.json["merged"] is True
    assert again.json["id"] == first.json["id"] and again.json["plan"] == "Team" and again.json["mrr"] == 49.0
    assert count(app) == 1
    assert "Also reported by the API. Filled in: plan, mrr." in timeline(app, first.json["id"])
    deliver(app)
    assert len(smtp.to(JENNY)) == 1 and len(smtp.to(owner["email"])) == 1


def test_stripe_joins_what_the_api_logged(app: Flask, client: FlaskClient, token: str, owner: Any, smtp: Any) -> None:
    app.config["STRIPE_OWNER_EMAIL"] = owner["email"]
    # The billing sync logged the departure Stripe's saved event reports (the fixture's canceled_at, 24 Nov 2025).
    logged = post_api(client, token, {**api_body(owner["email"]), "cancelled_at": "2025-11-24T14:38:20Z"}).json
    response = post_stripe(client, stripe_deleted())
    assert response.status_code == 201 and response.json["cancellation"]["id"] == logged["id"]
    assert count(app) == 1
    lines = timeline(app, logged["id"])
    assert "Also reported by Stripe (evt_1QdRk2LkdIwHu7ix0FfD8yAb)." in lines and "plan" in lines
    with app.app_context():
        cancellation = db.session.get(Cancellation, logged["id"])
        assert cancellation.feedback == "switched_service" and str(cancellation.mrr) == "147.00"
    deliver(app)
    assert len(smtp.to(JENNY)) == 1


def test_after_the_duplicate_window_a_departure_is_new(app: Flask, client: FlaskClient, token: str, owner: Any) -> None:
    first = post_api(client, token, api_body(owner["email"])).json
    with app.app_context():
        db.session.add(Summary(cancellation_id=first["id"], customer_answered=False, created_at=utcnow()))
        db.session.commit()
    assert post_api(client, token, api_body(owner["email"])).json["merged"] is True  # summarised today: same one
    with app.app_context():
        db.session.scalars(select(Summary)).one().created_at = utcnow() - timedelta(days=31)
        db.session.commit()
    second = post_api(client, token, api_body(owner["email"]))
    assert second.status_code == 201 and second.json["merged"] is False and count(app) == 2


def test_two_billing_accounts_of_one_address_are_two_departures(
    app: Flask, client: FlaskClient, token: str, owner: Any
) -> None:
    assert post_api(client, token, api_body(owner["email"], external_id="cus_A")).status_code == 201
    assert post_api(client, token, api_body(owner["email"], external_id="cus_B")).status_code == 201
    assert count(app) == 2


def test_the_staff_form_warns_and_offers_the_existing_postmortem(
    app: Flask, client: FlaskClient, logged_in_owner: Any, smtp: Any
) -> None:
    existing = log(app, logged_in_owner["email"], customer_email="casey@client.test")
    form = {
        "customer_name": "Casey Customer",
        "customer_email": "Casey@Client.test",
        "owner_email": logged_in_owner["email"],
        "plan": "Pro",
    }
    warned = submit_form(client, "/cancellations/new", form)
    assert warned.status_code == 200 and "already has an open postmortem" in warned.text
    assert f'href="/cancellations/{existing}"' in warned.text and "Open the existing postmortem" in warned.text
    assert 'value="Pro"' in warned.text and count(app) == 1
    joined = submit_form(client, "/cancellations/new", {**form, "join_open": "y"})
    assert joined.status_code == 302 and joined.headers["Location"] == f"/cancellations/{existing}"
    assert count(app) == 1
    assert "Also reported by a colleague on the web form. Filled in: plan." in timeline(app, existing)
    deliver(app)
    assert len(smtp.to("casey@client.test")) == 1


def test_leaving_again_a_year_later_is_a_new_postmortem(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    from datetime import UTC, datetime

    first = log(app, logged_in_owner["email"], cancelled_at=datetime(2025, 3, 1, tzinfo=UTC))
    again = log(app, logged_in_owner["email"])
    assert again != first and count(app) == 2
    assert "Also reported" not in timeline(app, first)
