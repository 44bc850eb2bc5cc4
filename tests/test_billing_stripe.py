"""Stripe's subscription lifecycle as feedback.billing's states: scheduled, stayed, ended, involuntary, in any order.

Events are Stripe's documented shapes (tests/fixtures/stripe/), signed with the `stripe` library's own code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from concurrency import at_once
from conftest import TEST_DATABASE_URL, csrf_token, deliver, link_in, make_config, run_jobs, submit_form
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from feedback.billing.models import BillingSubscription
from feedback.events.models import Event
from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation
from feedback.surveys.models import SurveyResponse

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
STRIPE_SECRET = "whsec_test_billing_states_0d1f9e2c7a4b"
SUBSCRIPTION = "sub_1QdRjvLkdIwHu7ixm8Ue2C4x"
CUSTOMER_EMAIL = "jenny.rosen@northwind.test"
#: The fixtures' scheduled cancellation takes effect at the end of the period: 31 Dec 2026, 00:00 UTC.
PERIOD_END = 1798675200
REVIEW = {
    "this_week": "They said the price was too high.",
    "relationship_history": "Quiet account.",
    "action_items": "Offer the small-team plan",
    "icp_fit": "Yes, a good fit",
    "avoidable": "Maybe",
}


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    # An hour's delay, as a careful team sets it: the invitation is still queued when the customer changes their mind.
    return make_config(database_url, smtp, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET, SURVEY_DELAY_MINUTES=60)


def fixture(name: str, expanded: bool = True) -> dict[str, Any]:
    event = json.loads((FIXTURES / f"{name}.json").read_text())
    if expanded:
        event["data"]["object"]["customer"] = json.loads((FIXTURES / "customer.expanded.json").read_text())
    return event


def scheduled() -> dict[str, Any]:
    return fixture("customer.subscription.updated.scheduled")


def undone() -> dict[str, Any]:
    return fixture("customer.subscription.updated.undone")


def deleted(created: int = PERIOD_END + 5, event_id: str = "evt_1RDel0LkdIwHu7ixPeriodEnd") -> dict[str, Any]:
    """The subscription ending at the period's end, after the portal cancellation."""
    event = fixture("customer.subscription.deleted")
    event.update(id=event_id, created=created)
    event["data"]["object"].update(ended_at=created, canceled_at=created - 2592000)
    return event


def post(client: FlaskClient, event: dict[str, Any]) -> Any:
    raw = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(raw, STRIPE_SECRET)
    return client.post(
        "/webhooks/stripe", data=raw, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )


def cancellations(app: Flask) -> list[Cancellation]:
    with app.app_context():
        found = list(db.session.scalars(select(Cancellation).order_by(Cancellation.id)))
        for row in found:
            for event in row.events:
                db.session.expunge(event)
            db.session.expunge(row)
        return found


def timeline(cancellation: Cancellation) -> str:
    return "\n".join(event.detail for event in cancellation.events)


def outbox(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(m.kind, m.status) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def events(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    with app.app_context():
        return [(e.type, e.data) for e in db.session.scalars(select(Event).order_by(Event.id))]


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_our_fixtures_are_events_stripes_library_accepts() -> None:
    for name in (
        "customer.subscription.updated.scheduled",
        "customer.subscription.updated.undone",
        "customer.subscription.deleted.payment_failed",
    ):
        raw = (FIXTURES / f"{name}.json").read_text()
        header = stripe.WebhookSignature.generate_signature_header(raw, STRIPE_SECRET)
        event = stripe.Webhook.construct_event(raw, header, STRIPE_SECRET)
        assert event.type == json.loads(raw)["type"] and event.data.object.id == SUBSCRIPTION


def test_a_portal_cancellation_is_scheduled_and_surveyed_the_day_it_happens(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, smtp: Any
) -> None:
    response = post(client, scheduled())
    assert response.status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "scheduled" and cancellation.cancels_on == "Cancels on 31 Dec 2026"
    assert cancellation.feedback == "too_expensive" and "Too pricey" in cancellation.comment
    assert "Cancels on 31 Dec 2026" in timeline(cancellation)
    deliver(app)
    assert smtp.to(CUSTOMER_EMAIL) == []  # SURVEY_DELAY_MINUTES, as for any cancellation
    assert "Cancels on 31 Dec 2026" in smtp.one(admin["email"], "your review").get_body(("plain",)).get_content()
    deliver(app, later(2))
    assert smtp.one(CUSTOMER_EMAIL, "Thank you")
    auth.login(admin["email"])
    assert "Cancels on 31 Dec 2026" in client.get("/cancellations/").text
    assert "Cancels on 31 Dec 2026" in client.get(f"/cancellations/{cancellation.id}").text


def test_undone_before_the_date_it_ends_as_stayed_and_nothing_more_is_sent(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, smtp: Any
) -> None:
    post(client, scheduled())
    response = post(client, undone())
    assert response.status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "stayed" and cancellation.cancels_on == ""
    assert "The customer stayed" in timeline(cancellation) and "Exit survey invitation" in timeline(cancellation)
    told = events(app)
    assert [kind for kind, _ in told] == ["cancellation.logged", "cancellation.scheduled", "cancellation.stayed"]
    assert told[1][1]["ends_at"] == "2026-12-31T00:00:00+00:00" and told[2][1]["billing"] == "Stripe"
    assert dict(outbox(app)) == {
        "survey_invitation": "skipped",
        "review_request": "skipped",
        "customer_stayed": "queued",
    }
    deliver(app, later(48))
    assert smtp.to(CUSTOMER_EMAIL) == []
    told = smtp.one(admin["email"], "stayed after all")
    assert "undid their cancellation in Stripe" in told.get_body(("plain",)).get_content()
    assert len(smtp.messages) == 1
    # The owner may still write down what they learned; no summary follows.
    auth.login(admin["email"])
    assert submit_form(client, f"/cancellations/{cancellation.id}/review", REVIEW).status_code == 302
    deliver(app, later(48))
    assert len(smtp.messages) == 1
    with app.app_context():
        assert db.session.get(Cancellation, cancellation.id).summary is None
    assert "Stayed" in client.get(f"/cancellations/{cancellation.id}").text


def test_answers_given_before_the_undo_are_kept(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    post(client, scheduled())
    deliver(app, later(2))
    survey = link_in(smtp.one(CUSTOMER_EMAIL, "Thank you"))
    client.get(survey)
    assert client.post(survey, data={"main_reason": "It was too expensive for us"}).status_code == 303
    post(client, undone())
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse.answers)).one() == {
            "main_reason": "It was too expensive for us"
        }
        assert db.session.scalars(select(Cancellation)).one().summary is None
    deliver(app, later(24 * 10))  # past SURVEY_REMINDER_DAYS: no reminder for someone who stayed
    assert [m["Subject"] for m in smtp.to(CUSTOMER_EMAIL)] == [smtp.one(CUSTOMER_EMAIL, "Thank you")["Subject"]]


def test_no_reminder_goes_to_a_customer_who_stayed(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    post(client, scheduled())
    deliver(app, later(2))
    post(client, undone())
    run_jobs(app, later(24 * 5))
    deliver(app, later(24 * 5))
    assert len(smtp.to(CUSTOMER_EMAIL)) == 1
    assert ("survey_reminder", "queued") not in outbox(app)


def test_the_end_of_a_scheduled_subscription_is_recorded_and_never_invites_twice(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    post(client, scheduled())
    deliver(app, later(2))
    assert post(client, deleted()).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "ended" and cancellation.ended_at is not None
    assert "The subscription ended 31 Dec 2026" in timeline(cancellation)
    deliver(app, later(4))
    assert len(smtp.to(CUSTOMER_EMAIL)) == 1


def test_stayed_then_deleted_later_is_a_new_departure(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    post(client, scheduled())
    post(client, undone())
    post(client, deleted(created=PERIOD_END + 86400 * 60, event_id="evt_1RDel1LkdIwHu7ixTwoMonthsOn"))
    first, second = cancellations(app)
    assert first.billing_status == "stayed" and second.billing_status == "ended"
    deliver(app, later(2))
    assert len(smtp.to(CUSTOMER_EMAIL)) == 1  # the new departure's survey only


def test_an_undo_delivered_before_its_schedule_leaves_no_postmortem(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    assert post(client, undone()).status_code == 201
    assert post(client, scheduled()).status_code == 201  # older than the undo: changes nothing
    assert cancellations(app) == []
    with app.app_context():
        row = db.session.scalars(select(BillingSubscription)).one()
        assert (row.subscription_id, row.state) == (SUBSCRIPTION, "stayed")
    deliver(app, later(2))
    assert smtp.messages == []


def test_a_schedule_delivered_after_the_end_changes_nothing(
    app: Flask, client: FlaskClient, admin: Any, smtp: Any
) -> None:
    post(client, deleted())
    post(client, scheduled())
    post(client, undone())  # older than the end too: an ended subscription is not undone
    [cancellation] = cancellations(app)
    assert cancellation.billing_status == "ended"
    assert "arrived after a newer one, so it changes nothing" in timeline(cancellation)
    deliver(app, later(2))
    assert len(smtp.to(CUSTOMER_EMAIL)) == 1


def test_repeated_deliveries_are_answered_once(app: Flask, client: FlaskClient, admin: Any) -> None:
    first, again = post(client, scheduled()), post(client, scheduled())
    assert (first.status_code, again.status_code, again.json["duplicate"]) == (201, 200, True)
    post(client, undone())
    assert post(client, undone()).json["duplicate"] is True
    [cancellation] = cancellations(app)
    assert timeline(cancellation).count("The customer stayed") == 1
    assert [kind for kind, _ in outbox(app)].count("customer_stayed") == 1


def test_an_update_that_does_not_touch_cancelling_is_ignored(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = scheduled()
    event["id"] = "evt_1RQty2LkdIwHu7ixSeatsUp"
    event["data"]["object"].update(cancel_at=None, cancel_at_period_end=False, canceled_at=None)
    event["data"]["previous_attributes"] = {"quantity": 2}
    response = post(client, event)
    assert response.status_code == 200 and "nothing about cancelling changed" in response.json["ignored"]
    assert cancellations(app) == []


def test_a_moved_cancel_at_moves_the_date(app: Flask, client: FlaskClient, admin: Any) -> None:
    post(client, scheduled())
    moved = scheduled()
    moved.update(id="evt_1RMov3LkdIwHu7ixNewDate", created=1796083200 + 3600)
    moved["data"]["object"].update(cancel_at=PERIOD_END - 86400 * 30, cancel_at_period_end=False)
    moved["data"]["previous_attributes"] = {"cancel_at": PERIOD_END, "cancel_at_period_end": True}
    assert post(client, moved).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.cancels_on == "Cancels on 1 Dec 2026"
    moved_to = [data["ends_at"] for kind, data in events(app) if kind == "cancellation.scheduled"]
    assert moved_to == ["2026-12-31T00:00:00+00:00", "2026-12-01T00:00:00+00:00"]


def test_a_scheduled_event_without_a_date_is_a_400(app: Flask, client: FlaskClient, admin: Any) -> None:
    event = scheduled()
    event["data"]["object"]["cancel_at"] = None
    for item in event["data"]["object"]["items"]["data"]:
        del item["current_period_end"]
    response = post(client, event)
    assert response.status_code == 400 and "current_period_end" in response.json["detail"]
    event = scheduled()
    event["data"]["object"]["cancel_at_period_end"] = "yes"
    assert post(client, event).status_code == 400
    assert cancellations(app) == []


# --- Involuntary churn ------------------------------------------------------------------------------


def test_a_failed_payment_is_involuntary_with_no_survey_until_the_owner_starts_one(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, smtp: Any
) -> None:
    assert post(client, fixture("customer.subscription.deleted.payment_failed")).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.involuntary and cancellation.reason == "Payment failed"
    assert outbox(app) == []
    deliver(app, later(2))
    assert smtp.messages == []
    auth.login(admin["email"])
    page = client.get(f"/cancellations/{cancellation.id}").text
    assert "Involuntary: payment failed" in page and "Start the postmortem" in page
    response = client.post(f"/cancellations/{cancellation.id}/start", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    deliver(app, later(2))
    assert smtp.one(CUSTOMER_EMAIL, "Thank you") and smtp.one(admin["email"], "your review")


def test_involuntary_survey_setting_asks_them_anyway(app: Flask, client: FlaskClient, admin: Any, smtp: Any) -> None:
    app.config["INVOLUNTARY_SURVEY"] = True
    post(client, fixture("customer.subscription.deleted.payment_failed"))
    deliver(app, later(2))
    assert smtp.one(CUSTOMER_EMAIL, "Thank you")


# --- What billing holds is recorded as it reads (issue 31, item 12) ---------------------------------------


@pytest.mark.parametrize(
    ("name", "recorded"),
    [("Acme\tInc", "Acme Inc"), ("Jenny Rosen\n", "Jenny Rosen"), ("Jenny \u2028Rosen", "Jenny Rosen")],
)
def test_a_name_with_tabs_or_line_breaks_is_flattened_not_refused(
    app: Flask, client: FlaskClient, admin: Any, name: str, recorded: str
) -> None:
    event = fixture("customer.subscription.deleted")
    event["data"]["object"]["customer"] = {
        **json.loads((FIXTURES / "customer.expanded.json").read_text()),
        "name": name,
        "metadata": {"company": "North\twind\r\nTraders"},
    }
    response = post(client, event)
    assert response.status_code == 201, response.json
    [cancellation] = cancellations(app)
    assert (cancellation.customer_name, cancellation.company) == (recorded, "North wind Traders")


def test_an_address_that_cannot_be_recorded_waits_for_contact_details(
    app: Flask, client: FlaskClient, admin: Any
) -> None:
    event = fixture("customer.subscription.deleted")
    event["data"]["object"]["customer"] = {
        **json.loads((FIXTURES / "customer.expanded.json").read_text()),
        "email": "jenny at northwind",
        "name": "Jenny\tRosen",
    }
    assert post(client, event).status_code == 201
    [cancellation] = cancellations(app)
    assert cancellation.state == "needs_contact" and cancellation.customer_name == "Jenny Rosen"


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------------


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite serialises writers; the race needs PostgreSQL")
def test_twenty_parallel_deliveries_of_a_schedule_give_one_postmortem(
    app_config: dict[str, Any], admin: Any, app: Flask
) -> None:
    raw = json.dumps(scheduled())
    headers = {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(raw, STRIPE_SECRET),
        "Content-Type": "application/json",
    }
    statuses = at_once(
        app_config, 20, lambda client: client.post("/webhooks/stripe", data=raw, headers=headers).status_code
    )
    assert sorted(statuses) == [200] * 19 + [201]
    assert len(cancellations(app)) == 1
    assert [kind for kind, _ in outbox(app)] == ["survey_invitation", "review_request"]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite serialises writers; the race needs PostgreSQL")
def test_a_schedule_and_its_undo_at_once_end_as_stayed(app_config: dict[str, Any], admin: Any, app: Flask) -> None:
    bodies = [json.dumps(event) for event in (scheduled(), undone())] * 5  # each delivered five times
    signed = [
        (body, {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET)})
        for body in bodies
    ]
    counter = iter(range(len(signed)))

    def deliver_one(client: FlaskClient) -> int:
        body, headers = signed[next(counter) % len(signed)]
        return client.post("/webhooks/stripe", data=body, headers=headers).status_code

    statuses = at_once(app_config, len(signed), deliver_one)
    assert all(status in (200, 201) for status in statuses)
    with app.app_context():
        assert db.session.scalars(select(BillingSubscription.state)).one() == "stayed"
        assert db.session.scalar(select(func.count()).select_from(Cancellation)) <= 1
        assert (
            db.session.scalar(select(func.count()).select_from(Cancellation).where(Cancellation.stayed_at.is_(None)))
            == 0
        )


# --- Money in its own currency -----------------------------------------------------------------------------


def _priced(currency: str, **price: Any) -> dict[str, Any]:
    event = fixture("customer.subscription.deleted")
    subscription = event["data"]["object"]
    subscription["currency"] = currency
    item = subscription["items"]["data"][0]
    item["quantity"] = 1
    item["price"].update(currency=currency, **price)
    return event


def test_yen_have_no_minor_units(app: Flask, client: FlaskClient, auth: Any, admin: Any) -> None:
    post(client, _priced("jpy", unit_amount=5000))
    [cancellation] = cancellations(app)
    assert (str(cancellation.mrr), cancellation.currency) == ("5000.00", "JPY")
    auth.login(admin["email"])
    assert "¥5,000" in client.get(f"/cancellations/{cancellation.id}").text


def test_a_yearly_price_is_a_twelfth_a_month(app: Flask, client: FlaskClient, admin: Any) -> None:
    post(client, _priced("usd", unit_amount=58800, recurring={"interval": "year", "interval_count": 1}))
    [cancellation] = cancellations(app)
    assert (str(cancellation.mrr), cancellation.currency) == ("49.00", "USD")


@pytest.mark.parametrize(
    "price",
    [
        {"unit_amount": None, "billing_scheme": "tiered", "tiers_mode": "graduated"},
        {"unit_amount": 10, "recurring": {"interval": "month", "interval_count": 1, "usage_type": "metered"}},
    ],
    ids=["tiered", "metered"],
)
def test_a_tiered_or_metered_price_is_unknown_never_guessed(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, price: dict[str, Any]
) -> None:
    post(client, _priced("usd", **price))
    [cancellation] = cancellations(app)
    assert cancellation.mrr is None


@pytest.mark.parametrize(
    ("coupon", "mrr"),
    [
        ({"percent_off": 20, "amount_off": None, "duration": "forever"}, "39.20"),
        ({"percent_off": 20, "amount_off": None, "duration": "repeating", "duration_in_months": 3}, "39.20"),
        ({"percent_off": None, "amount_off": 900, "currency": "usd", "duration": "forever"}, "40.00"),
        ({"percent_off": 50, "amount_off": None, "duration": "once"}, "49.00"),  # gone after one invoice
    ],
    ids=["20-percent-forever", "20-percent-repeating", "9-dollars-off", "once"],
)
def test_a_lasting_discount_lowers_the_mrr_lost(
    app: Flask, client: FlaskClient, admin: Any, coupon: dict[str, Any], mrr: str
) -> None:
    event = _priced("usd", unit_amount=4900)
    event["data"]["object"]["discount"] = {
        "id": "di_1",
        "object": "discount",
        "coupon": {"id": "SAVE", "object": "coupon", **coupon},
    }
    post(client, event)
    [cancellation] = cancellations(app)
    assert str(cancellation.mrr) == mrr
