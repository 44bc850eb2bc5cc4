"""Outbound events: what each operation emits, in its own transaction; who gets the customer's words; erasure;
`flask webhooks`; Admin → Webhooks; polling with GET /api/v1/events."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from conftest import csrf_token, deliver, link_in, log, run_jobs, submit_form
from sqlalchemy import select

from feedback.actions.operations import add_item, close_item
from feedback.api.tokens import create_token
from feedback.audit.models import AuditEvent
from feedback.db import utcnow
from feedback.event_log.operations import InvalidEndpoint, add_endpoint
from feedback.events.emit import UnknownEvent, emit
from feedback.events.messages import headline, slack_message, teams_message
from feedback.events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from feedback.events.payload import body_for
from feedback.events.safety import UnsafeURL, check_url, is_public, resolve
from feedback.extensions import db
from feedback.inbound.operations import process_and_commit, store_message
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation
from feedback.privacy.erasure import erase_person

CUSTOMER = "dana@client.test"


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def events(app):
    with app.app_context():
        return [
            (event.type, event.data, event.answers) for event in db.session.scalars(select(Event).order_by(Event.id))
        ]


def types(app):
    return [event_type for event_type, _, _ in events(app)]


def answer_survey(app, smtp, text="The renewal quote doubled", consent=False):
    deliver(app)
    path = link_in(smtp.one(CUSTOMER)).removeprefix("http://localhost")
    data = {"main_reason": "It was too expensive for us", "final_straw": text, "return_likelihood": "6"}
    if consent:
        data["winback_consent"] = "yes"
    customer = app.test_client()
    customer.get(path)
    assert customer.post(path, data=data).status_code == 303


def review(client, cancellation_id, owner_email):
    answered = submit_form(
        client,
        f"/cancellations/{cancellation_id}/review",
        {
            "this_week": "No call before the renewal.",
            "relationship_history": "Usage halved.",
            "icp_fit": "Yes, a good fit",
            "avoidable": "Yes",
            "items-rows-0-title": "Call before every price change",
            "items-rows-0-owner_email": owner_email,
            "items-rows-0-due_on": "2027-01-15",
        },
    )
    assert answered.status_code == 302, answered.text


def test_the_core_loop_emits_its_events_in_order(app, client, auth, smtp, owner):
    cancellation_id = log(app, owner["email"], customer_email=CUSTOMER, company="Acme Ltd", mrr="490")
    answer_survey(app, smtp, consent=True)
    auth.login(owner["email"])
    review(client, cancellation_id, owner["email"])
    assert types(app) == [
        "cancellation.logged",
        "survey.answered",
        "winback.consented",
        "action_item.created",
        "review.submitted",
        "summary.sent",
    ]
    logged, answered, _, created, reviewed, summary = events(app)
    assert logged[1]["customer"] == {"name": "Casey Customer", "email": CUSTOMER, "company": "Acme Ltd"}
    assert logged[1]["owner"]["email"] == owner["email"] and logged[1]["mrr"] == "490.00"
    assert answered[1]["survey"]["main_reason"] == "It was too expensive for us"
    assert answered[2] == [
        {"key": "final_straw", "prompt": answered[2][0]["prompt"], "answer": "The renewal quote doubled"}
    ]
    assert "The renewal quote" not in json.dumps(answered[1])  # the customer's words are kept apart
    assert created[1]["action_item"]["title"] == "Call before every price change"
    assert reviewed[1]["review"]["avoidable"] == "Yes"
    assert summary[1]["main_reason"] == "It was too expensive for us" and summary[1]["avoidable"] == "Yes"
    assert summary[1]["links"]["summary"].endswith(f"/cancellations/{cancellation_id}/summary")


def test_closing_an_item_and_its_going_overdue_are_events(app, owner):
    cancellation_id = log(app, owner["email"])
    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        late = add_item(cancellation, title="Fix the invoice PDF", due_on=utcnow().date() - timedelta(days=2))
        done = add_item(cancellation, title="Call them", due_on=utcnow().date() + timedelta(days=20))
        db.session.commit()
        late_id, done_id = late.id, done.id
        close_item(done, "done", note="Called")
        db.session.commit()
    run_jobs(app)
    found = [(t, d.get("action_item_id")) for t, d, _ in events(app) if t.startswith("action_item.")]
    assert ("action_item.closed", done_id) in found
    assert ("action_item.overdue", late_id) in found
    run_jobs(app, utcnow() + timedelta(hours=1))
    assert types(app).count("action_item.overdue") == 1  # once, as its reminder


def test_a_reply_by_email_is_an_event_with_the_words_apart(app, smtp, owner):
    cancellation_id = log(app, owner["email"], customer_email=CUSTOMER)
    deliver(app)
    with app.app_context():
        invitation = db.session.scalar(
            select(OutboxMessage.message_id).where(OutboxMessage.kind == "survey_invitation")
        )
    raw = (
        f"From: Dana <{CUSTOMER}>\r\nTo: hello@acme.test\r\nSubject: Re: Thank you\r\nMessage-ID: <r1@client.test>\r\n"
        f"In-Reply-To: {invitation}\r\nReferences: {invitation}\r\nDate: Wed, 02 Dec 2026 07:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nIt was the price, plain and simple.\r\n"
    ).encode()
    with app.app_context():
        message, _ = store_message(raw, "pipe")
        process_and_commit(message.id)
    [(_, data, answers)] = [e for e in events(app) if e[0] == "customer.replied"]
    assert data["cancellation_id"] == cancellation_id and "price" not in json.dumps(data)
    assert "It was the price, plain and simple." in answers["text"]


def test_only_endpoints_that_include_answers_get_the_customers_words(app, smtp, owner):
    with app.app_context():
        plain = add_endpoint("https://crm.example.com/hook")
        with_words = add_endpoint("https://warehouse.example.com/hook", include_answers=True)
        slack = add_endpoint("https://hooks.slack.com/services/T/B/X", kind="slack")
        db.session.commit()
        plain_id, with_words_id, slack_id = plain.id, with_words.id, slack.id
    log(app, owner["email"], customer_email=CUSTOMER)
    answer_survey(app, smtp, text="My boss hates the new UI")
    with app.app_context():
        event = db.session.scalars(select(Event).where(Event.type == "survey.answered")).one()
        assert b"My boss hates" not in body_for(event, db.session.get(WebhookEndpoint, plain_id))
        assert b"My boss hates" in body_for(event, db.session.get(WebhookEndpoint, with_words_id))
        heard = {(d.endpoint_id, d.event.type) for d in db.session.scalars(select(Delivery))}
    assert (plain_id, "survey.answered") in heard and (with_words_id, "cancellation.logged") in heard
    assert not [pair for pair in heard if pair[0] == slack_id]  # Slack hears only what it has a message for


def test_an_erasure_scrubs_the_events_and_drops_what_had_not_gone(app, smtp, owner):
    with app.app_context():
        endpoint_id = add_endpoint("https://crm.example.com/hook", include_answers=True).id
        db.session.commit()
    log(app, owner["email"], customer_email=CUSTOMER, customer_name="Zebulon Quixotic", company="Quixco")
    answer_survey(app, smtp, text="Zebulon says no")
    with app.app_context():
        erase_person(CUSTOMER)
        db.session.commit()
        everything = json.dumps([(e.data, e.answers) for e in db.session.scalars(select(Event))]).lower()
        statuses = {d.event.type: d.status for d in db.session.scalars(select(Delivery))}
        erased = db.session.scalars(select(Event).where(Event.type == "customer.erased")).one()
        assert erased.data["how"] == "erased" and erased.data["cancellation_ids"]
        assert db.session.get(WebhookEndpoint, endpoint_id).hears("customer.erased")
    for secret in ("zebulon", "quixco", CUSTOMER):
        assert secret not in everything
    assert statuses == {"cancellation.logged": "dropped", "survey.answered": "dropped", "customer.erased": "queued"}


def test_an_unknown_event_type_is_refused(app):
    with app.app_context(), pytest.raises(UnknownEvent):
        emit("cancellation.logd", {})


def test_addresses_that_are_not_public_are_refused(app):
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "::1", "fd00::1",
                    "::ffff:127.0.0.1", "100.64.0.1", "0.0.0.0", "fe80::1"):  # fmt: skip  # noqa: S104
        assert not is_public(address), address
    assert is_public("93.184.216.34") and is_public("2606:4700::1111")
    with app.app_context():
        with pytest.raises(UnsafeURL, match="private"):
            resolve("http://127.0.0.1:9/hook")
        with pytest.raises(UnsafeURL, match="user name"):
            check_url("https://user:pw@example.com/")
        app.config["FAREWELL_ENV"] = "production"
        with pytest.raises(UnsafeURL, match="https://"):
            check_url("http://example.com/")
        with pytest.raises(InvalidEndpoint, match="https://"):
            add_endpoint("http://example.com/")


def test_the_cli_adds_lists_and_removes_endpoints(app, runner):
    added = runner.invoke(args=["webhooks", "add", "https://crm.example.com/hook", "--event", "summary.sent",
                                "--event", "cancellation.logged", "--include-answers"])  # fmt: skip
    assert added.exit_code == 0, added.output
    endpoint_id = re.search(r"Endpoint (\d+) added", added.output).group(1)
    secret = re.search(r"(whsec_\S+)", added.output).group(1)
    slack = runner.invoke(args=["webhooks", "add", "https://hooks.slack.com/services/T/B/X", "--kind", "slack"])
    assert slack.exit_code == 0 and "whsec_" not in slack.output
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, int(endpoint_id))
        assert endpoint.secret == secret and endpoint.events == ["summary.sent", "cancellation.logged"]
        assert endpoint.include_answers
    listed = runner.invoke(args=["webhooks", "list"])
    assert "https://crm.example.com/hook" in listed.output and "summary.sent, cancellation.logged" in listed.output
    assert secret not in listed.output  # shown once, when added
    assert "slack\tenabled\tall events" in listed.output
    catalogue = runner.invoke(args=["webhooks", "list", "--events"])
    assert "cancellation.stayed: A customer who had scheduled" in catalogue.output
    assert "(coming)" not in catalogue.output
    unknown = runner.invoke(args=["webhooks", "add", "https://x.example.com/", "--event", "nope"])
    assert unknown.exit_code != 0 and "Unknown event(s): nope" in unknown.output
    silent = runner.invoke(args=["webhooks", "add", "https://x.example.com/", "--kind", "teams", "--event",
                                 "survey.answered"])  # fmt: skip
    assert silent.exit_code != 0 and "no message for survey.answered" in silent.output
    removed = runner.invoke(args=["webhooks", "remove", endpoint_id])
    assert removed.exit_code == 0 and f"Endpoint {endpoint_id} removed." in removed.output
    missing = runner.invoke(args=["webhooks", "remove", endpoint_id])
    assert missing.exit_code != 0 and f"No endpoint {endpoint_id}" in missing.output
    with app.app_context():
        trail = [(e.action, e.target_id) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert ("webhook.add", endpoint_id) in trail and ("webhook.remove", endpoint_id) in trail


def test_the_admin_page_adds_shows_and_removes_webhooks(app, client, logged_in_admin, owner):
    page = client.get("/admin/webhooks/")
    assert page.status_code == 200 and "No webhooks yet" in page.text
    added = submit_form(
        client,
        "/admin/webhooks/",
        {"url": "https://crm.example.com/hook", "kind": "standard", "events": ["cancellation.logged"]},
    )
    assert added.status_code == 200
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', added.text).group(1)
    assert "crm.example.com/hook" in added.text
    assert secret not in client.get("/admin/webhooks/").text
    refused = submit_form(client, "/admin/webhooks/", {"url": "ftp://example.com/", "kind": "standard"})
    assert refused.status_code == 422 and "The URL must start with https://" in refused.text
    with app.app_context():
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        endpoint_id = endpoint.id
    log(app, owner["email"])
    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        delivery.status, delivery.failed_at, delivery.attempts = "failed", utcnow(), 8
        db.session.add(DeliveryAttempt(delivery=delivery, status_code=500, duration_ms=12, response_body="boom"))
        db.session.commit()
        delivery_id = delivery.id
    shown = client.get(f"/admin/webhooks/{endpoint_id}")
    assert "cancellation.logged" in shown.text and "boom" in shown.text and "12 ms" in shown.text
    replayed = client.post(
        f"/admin/webhooks/deliveries/{delivery_id}/replay", data={"csrf_token": csrf_token(shown.text)}
    )
    assert replayed.status_code == 302
    assert "goes again" in client.get(replayed.headers["Location"]).text
    with app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "queued"
    removed = client.post(f"/admin/webhooks/{endpoint_id}/remove", data={"csrf_token": csrf_token(shown.text)})
    assert removed.status_code == 302
    assert "No webhooks yet" in client.get("/admin/webhooks/").text
    assert client.get(f"/admin/webhooks/{endpoint_id}").status_code == 404


def test_owners_cannot_open_the_webhooks_page(client, auth, owner):
    auth.login(owner["email"])
    assert client.get("/admin/webhooks/").status_code == 403


def test_polling_lists_the_events_in_order_without_the_customers_words(app, smtp, owner):
    with app.app_context():
        _, token = create_token("Warehouse")
        db.session.commit()
    log(app, owner["email"], customer_email=CUSTOMER)
    answer_survey(app, smtp, text="Too dear, truly")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    first = api.get("/api/v1/events?limit=1", headers=headers)
    assert first.status_code == 200
    assert [e["type"] for e in first.json["data"]] == ["cancellation.logged"]
    after = first.json["next_after"]
    rest = api.get(f"/api/v1/events?after={after}", headers=headers).json
    assert [e["type"] for e in rest["data"]] == ["survey.answered"] and rest["next_after"] is None
    assert "Too dear" not in json.dumps(rest)
    assert api.get("/api/v1/events").status_code == 401
    bad = api.get("/api/v1/events?limit=0", headers=headers)
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"


def test_the_openapi_document_has_the_events_and_their_webhooks(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert "get" in document["paths"]["/api/v1/events"]
    assert set(document["webhooks"]) >= {"summary.sent", "customer.erased", "cancellation.stayed"}
    for name in ("cancellation.scheduled", "cancellation.stayed"):  # emitted now: no longer "coming"
        assert document["webhooks"][name]["post"]["summary"] == name
    assert "ends_at" in document["webhooks"]["cancellation.scheduled"]["post"]["description"]


def test_slack_and_teams_tell_of_a_customer_who_stayed():
    data = {"customer": {"company": "Northwind Traders"}, "mrr": "490.00", "currency": "EUR", "billing": "Paddle"}
    line, detail, label = headline("cancellation.stayed", data, None)
    assert (line, detail, label) == (
        "Northwind Traders stayed after all, €490 MRR kept",
        "They undid their cancellation in Paddle.",
        "Open the cancellation",
    )
    assert "stayed after all" in json.dumps(slack_message("cancellation.stayed", data, None))
    assert "stayed after all" in json.dumps(teams_message("cancellation.stayed", data, None))
