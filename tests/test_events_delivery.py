"""Outbound webhooks on the wire: a local receiver checks every delivery with the standardwebhooks library."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from conftest import TEST_DATABASE_URL, deliver, log
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from feedback import create_app
from feedback.auth.operations import create_user
from feedback.cancellations.operations import NewCancellation, log_cancellation
from feedback.db import utcnow
from feedback.event_log.operations import CannotReplay, add_endpoint, replay
from feedback.events.delivery import SCHEDULE, claim_batch, deliver_all
from feedback.events.emit import emit
from feedback.events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import cancellation_facts


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def app_config(app_config):
    """The receiver is on loopback, which only WEBHOOK_ALLOW_PRIVATE_HOSTS lets through."""
    return {**app_config, "WEBHOOK_ALLOW_PRIVATE_HOSTS": True, "WEBHOOK_TIMEOUT_SECONDS": 1}


def add(app, url, **options):
    with app.app_context():
        endpoint = add_endpoint(url, **options)
        db.session.commit()
        return endpoint.id, endpoint.secret


def work(app, now=None):
    with app.app_context():
        return deliver_all(now=now)


def deliveries(app):
    with app.app_context():
        return [
            (d.status, d.attempts, d.webhook_id) for d in db.session.scalars(select(Delivery).order_by(Delivery.id))
        ]


class Receiver:
    """Verifies each request as a receiver following Standard Webhooks would, and keeps what it verified."""

    def __init__(self, secret, answers=()):
        self.webhook = Webhook(secret)
        self.answers = list(answers)
        self.verified = []

    def __call__(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        payload = self.webhook.verify(body, dict(request.headers))  # raises on a bad signature or an old timestamp
        self.verified.append((request.headers["webhook-id"], payload))
        status = self.answers.pop(0) if self.answers else 200
        return Response("ok" if status < 300 else "nope " * 500, status=status)


def test_a_signed_delivery_verifies_with_the_standardwebhooks_library(app, owner, httpserver):
    _, secret = add(app, httpserver.url_for("/hook"))
    assert secret.startswith("whsec_")
    receiver = Receiver(secret)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    cancellation_id = log(app, owner["email"], mrr="490", company="Acme Ltd")
    report = work(app)
    assert report.delivered == 1
    [(webhook_id, payload)] = receiver.verified
    assert payload["type"] == "cancellation.logged" and payload["version"] == 1
    assert payload["data"]["cancellation_id"] == cancellation_id
    assert payload["data"]["customer"]["company"] == "Acme Ltd" and payload["data"]["mrr"] == "490.00"
    assert payload["data"]["links"]["cancellation"].endswith(f"/cancellations/{cancellation_id}")
    assert deliveries(app) == [("delivered", 1, webhook_id)]
    with app.app_context():
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert attempt.status_code == 200 and attempt.response_body == "ok" and attempt.duration_ms >= 0


def test_three_failures_then_success_deliver_once_with_the_same_webhook_id(app, owner, httpserver):
    _, secret = add(app, httpserver.url_for("/hook"))
    receiver = Receiver(secret, answers=[500, 503, 429])
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    log(app, owner["email"])
    now = utcnow()
    for attempt in range(4):
        work(app, now)
        now += SCHEDULE[attempt + 1] + timedelta(seconds=1)  # the next attempt is due then
    ids = {webhook_id for webhook_id, _ in receiver.verified}
    assert len(receiver.verified) == 4 and len(ids) == 1
    [(status, attempts, webhook_id)] = deliveries(app)
    assert (status, attempts, webhook_id) == ("delivered", 4, ids.pop())
    with app.app_context():
        codes = list(db.session.scalars(select(DeliveryAttempt.status_code).order_by(DeliveryAttempt.id)))
        first_answer = db.session.scalars(select(DeliveryAttempt.response_body).order_by(DeliveryAttempt.id)).first()
    assert codes == [500, 503, 429, 200]
    assert len(first_answer) == 1024  # the receiver sent 2.5 KB; the first kilobyte is kept, the rest never read


def test_a_retry_waits_for_the_schedule(app, owner, httpserver):
    _, secret = add(app, httpserver.url_for("/hook"))
    receiver = Receiver(secret, answers=[500, 500])
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    log(app, owner["email"])
    now = utcnow()
    work(app, now)
    work(app, now + SCHEDULE[1] - timedelta(seconds=1))  # not yet due
    assert len(receiver.verified) == 1
    work(app, now + SCHEDULE[1] + timedelta(seconds=1))
    assert len(receiver.verified) == 2
    with app.app_context():
        due = db.session.scalars(select(Delivery.due_at)).one()
    assert due >= now + SCHEDULE[1] + SCHEDULE[2]


def test_a_receiver_down_for_a_day_fails_after_the_last_retry(app, owner, httpserver):
    add(app, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("down", status=502)
    log(app, owner["email"])
    now = utcnow()
    for step in range(len(SCHEDULE)):
        now += SCHEDULE[step] + timedelta(seconds=1)
        work(app, now)
    [(status, attempts, _)] = deliveries(app)
    assert (status, attempts) == ("failed", len(SCHEDULE))
    assert sum(SCHEDULE, timedelta()) > timedelta(days=1)
    work(app, now + timedelta(days=1))
    assert len(httpserver.log) == len(SCHEDULE)  # failed is final: nothing more is posted


def test_a_receiver_that_hangs_is_dropped_at_the_timeout_and_retried(app, owner, httpserver):
    add(app, httpserver.url_for("/slow"))
    release = threading.Event()

    def hang(request):
        release.wait(3)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(hang)
    log(app, owner["email"])
    try:
        report = work(app)
    finally:
        release.set()
    assert report.retrying == 1
    with app.app_context():
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert attempt.status_code is None and "Timed out after 1 s" in attempt.error
        assert attempt.duration_ms < 2900  # it did not wait for the receiver's 3 s
    [(status, attempts, _)] = deliveries(app)
    assert (status, attempts) == ("queued", 1)


def test_a_410_disables_the_endpoint_and_tells_the_admins_once(app, owner, admin, smtp, httpserver):
    endpoint_id, _ = add(app, httpserver.url_for("/gone"))
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    log(app, owner["email"])
    log(app, owner["email"], customer_email="other@client.test")
    report = work(app)
    assert report.failed == 1 and report.disabled == 1
    assert len(httpserver.log) == 1  # the second delivery waits: its endpoint is disabled
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.disabled_at is not None and "410" in endpoint.disabled_reason
    assert [status for status, _, _ in deliveries(app)] == ["failed", "queued"]
    deliver(app)
    alert = smtp.one(admin["email"], "Webhook disabled")
    assert "410" in alert.get_body(("plain",)).get_content()
    assert not [m for m in smtp.messages if m["To"] and owner["email"] in m["To"] and "Webhook" in m["Subject"]]


def test_five_days_of_failures_disable_the_endpoint(app, owner, admin, smtp, httpserver):
    endpoint_id, _ = add(app, httpserver.url_for("/broken"))
    httpserver.expect_request("/broken").respond_with_data("no", status=500)
    log(app, owner["email"])
    now = utcnow()
    work(app, now)
    for day in range(1, 6):
        log(app, owner["email"], customer_email=f"c{day}@client.test")
        report = work(app, now + timedelta(days=day, seconds=1))
    assert report.disabled == 1
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert "five days" in endpoint.disabled_reason
    deliver(app)
    assert len([m for m in smtp.messages if "Webhook disabled" in m["Subject"]]) == 1


def test_a_success_starts_the_five_days_again(app, owner, httpserver):
    endpoint_id, _ = add(app, httpserver.url_for("/flaky"))
    httpserver.expect_request("/flaky").respond_with_data("no", status=500)
    log(app, owner["email"])
    now = utcnow()
    work(app, now)
    httpserver.clear()
    httpserver.expect_request("/flaky").respond_with_data("ok")
    work(app, now + timedelta(days=4))
    httpserver.clear()
    httpserver.expect_request("/flaky").respond_with_data("no", status=500)
    log(app, owner["email"], customer_email="later@client.test")
    work(app, now + timedelta(days=6))
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.enabled and endpoint.failing_since is not None


def test_a_rolled_back_change_sends_nothing(app, owner, httpserver):
    add(app, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("ok")

    with app.app_context():
        log_cancellation(
            NewCancellation(owner_email=owner["email"], customer_name="Rolled Back", customer_email="r@b.test")
        )
        db.session.rollback()
    assert work(app).handled == 0
    assert httpserver.log == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_a_private_address_is_refused_without_the_setting(app_config, owner, httpserver):

    app = create_app({**app_config, "WEBHOOK_ALLOW_PRIVATE_HOSTS": False})
    add(app, httpserver.url_for("/internal"))
    httpserver.expect_request("/internal").respond_with_data("ok")
    with app.app_context():
        create_user("olivia2@acme.test", "Olivia Two", "owner", "correct horse battery")
        db.session.commit()
    log(app, "olivia2@acme.test")
    report = work(app)
    assert report.failed == 1
    assert httpserver.log == []  # no request left the worker
    with app.app_context():
        attempt = db.session.scalars(select(DeliveryAttempt)).one()
        assert "127.0.0.1" in attempt.error and "private" in attempt.error
    with app.app_context():
        db.engine.dispose()


def test_a_redirect_is_not_followed(app, owner, httpserver):
    _, secret = add(app, httpserver.url_for("/moved"))
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/"}
    )
    log(app, owner["email"])
    assert work(app).failed == 1
    assert len(httpserver.log) == 1


def test_a_worker_killed_mid_delivery_gives_it_to_the_next_with_the_same_webhook_id(app, owner, httpserver):
    _, secret = add(app, httpserver.url_for("/hook"))
    receiver = Receiver(secret)
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    log(app, owner["email"])
    now = utcnow()
    with app.app_context():
        [claimed] = claim_batch(10, now)  # then the worker dies: its claim is all that is left of it
        webhook_id = claimed.webhook_id
    assert work(app, now).handled == 0  # the lease is live: nobody else takes it
    later = now + timedelta(seconds=app.config["WEBHOOK_LEASE_SECONDS"] + 1)
    assert work(app, later).delivered == 1
    assert [wid for wid, _ in receiver.verified] == [webhook_id]


def test_replay_sends_again_with_the_same_webhook_id(app, owner, httpserver, runner):
    _, secret = add(app, httpserver.url_for("/hook"))
    receiver = Receiver(secret)
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    log(app, owner["email"])
    work(app)
    with app.app_context():
        delivery_id = db.session.scalars(select(Delivery.id)).one()
    result = runner.invoke(args=["webhooks", "replay", str(delivery_id)])
    assert result.exit_code == 0, result.output
    work(app)
    assert len(receiver.verified) == 2 and receiver.verified[0][0] == receiver.verified[1][0]
    result = runner.invoke(args=["webhooks", "replay", "999"])
    assert result.exit_code != 0 and "No delivery 999" in result.output


def test_slack_gets_block_kit_and_teams_an_adaptive_card(app, owner, httpserver):
    add(app, httpserver.url_for("/slack"), kind="slack", events=["summary.sent"])
    add(app, httpserver.url_for("/teams"), kind="teams")
    httpserver.expect_request("/slack").respond_with_data("ok")
    httpserver.expect_request("/teams").respond_with_data("", status=202)
    cancellation_id = log(app, owner["email"], company="Acme Ltd", mrr="490")

    with app.app_context():
        facts = cancellation_facts(db.session.get(Cancellation, cancellation_id))
        emit(
            "summary.sent",
            facts | {"main_reason": "Too expensive", "avoidable": "Yes"},
            cancellation_id=cancellation_id,
        )
        db.session.commit()
    assert work(app).delivered == 2  # cancellation.logged has no channel message: neither hears it
    bodies = {request.path: json.loads(request.get_data()) for request, _ in httpserver.log}
    slack, teams = bodies["/slack"], bodies["/teams"]
    assert slack["text"] == "Lost Acme Ltd, €490 MRR: too expensive; avoidable: yes; owner Olivia Owner"
    assert slack["blocks"][0]["type"] == "section" and slack["blocks"][-1]["elements"][0]["type"] == "button"
    assert "webhook-signature" not in httpserver.log[0][0].headers
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["body"][0]["text"] == slack["text"]


def test_replay_of_a_delivery_to_a_disabled_endpoint_is_refused(app, owner, httpserver):
    add(app, httpserver.url_for("/gone"))
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    log(app, owner["email"])
    work(app)

    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        with pytest.raises(CannotReplay, match="disabled"):
            replay(delivery)


postgresql_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"), reason="concurrent workers need PostgreSQL (SKIP LOCKED)"
)


@postgresql_only
def test_two_workers_deliver_each_of_20_endpoints_times_20_events_once(app_config, app, httpserver):

    secrets = [add(app, httpserver.url_for(f"/hook/{n}"))[1] for n in range(20)]
    receivers = [Receiver(secret) for secret in secrets]
    for n, receiver in enumerate(receivers):
        httpserver.expect_request(f"/hook/{n}").respond_with_handler(receiver)
    with app.app_context():
        for n in range(20):
            emit("customer.erased", {"how": "erased", "cancellation_ids": [n], "customer_ids": []})
        db.session.commit()
    workers = [create_app(app_config) for _ in range(2)]
    start = threading.Barrier(2)
    reports = []

    def run(worker_app):
        start.wait()
        with worker_app.app_context():
            reports.append(deliver_all(batch=10))
            db.engine.dispose()

    threads = [threading.Thread(target=run, args=(worker_app,)) for worker_app in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.delivered for report in reports) == 400
    assert min(report.delivered for report in reports) > 0  # both took part
    ids = [webhook_id for receiver in receivers for webhook_id, _ in receiver.verified]
    assert len(ids) == len(set(ids)) == 400
    assert {status for status, _, _ in deliveries(app)} == {"delivered"}
