"""POST /webhooks/inbound/mailgun with real signatures: stored once, replays and stale signatures refused."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from conftest import make_config
from sqlalchemy import func, select
from test_inbound import CUSTOMER, invited, shaped

from feedback.extensions import db
from feedback.inbound.models import InboundMessage, WebhookToken
from feedback.webhooks.signatures import mailgun_signature

SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, REPLY_ADDRESS="replies@acme.test", MAILGUN_SIGNING_KEY=SIGNING_KEY)


def signed(raw: bytes | None, recipient: str = "", at: int | None = None, token: str | None = None) -> dict[str, Any]:
    """The form Mailgun's "store and notify" route posts to a URL ending in /mime."""
    timestamp = str(int(time.time()) if at is None else at)
    token = token or secrets.token_hex(25)
    form: dict[str, Any] = {
        "timestamp": timestamp,
        "token": token,
        "signature": mailgun_signature(SIGNING_KEY, timestamp, token),
        "recipient": recipient,
        "sender": CUSTOMER,
        "subject": "Re: Thank you, Casey.",
    }
    if raw is not None:
        form["body-mime"] = raw.decode()
    return form


def post(client, form: dict[str, Any], path: str = "/webhooks/inbound/mailgun") -> Any:
    return client.post(path, data=form, content_type="multipart/form-data")


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def test_a_signed_reply_is_stored_once_and_attached(app, client, owner):
    cancellation_id, address, _ = invited(app, owner)
    raw = shaped("reply_gmail_en.eml", address)
    response = post(client, signed(raw, recipient=address))
    assert response.status_code == 200, response.text
    assert response.json["status"] == "reply" and response.json["duplicate"] is False
    # Mailgun's retry (a new signature, the same message), to the URL ending in "mime" that its routes need
    again = post(client, signed(raw, recipient=address), "/webhooks/inbound/mailgun/mime")
    assert again.status_code == 200
    assert again.json["duplicate"] is True
    assert stored(app) == 1
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert (message.via, message.envelope_recipient, message.cancellation_id) == (
            "mailgun",
            address,
            cancellation_id,
        )


def test_a_replayed_token_a_stale_or_a_wrong_signature_is_refused_as_problem_json(app, client, owner):
    _, address, _ = invited(app, owner)
    form = signed(shaped("reply_gmail_en.eml", address), recipient=address)
    assert post(client, form).status_code == 200
    replay = post(client, form)
    assert replay.status_code == 409
    assert replay.mimetype == "application/problem+json"
    assert replay.json["detail"] == "This signature's token was used already: the request is a replay."

    stale = post(client, signed(shaped("reply_apple_en.eml", address), at=int(time.time()) - 121))
    assert stale.status_code == 400
    assert stale.json["detail"] == "The signature's timestamp is more than two minutes away from ours."

    forged = signed(shaped("reply_apple_en.eml", address))
    forged["signature"] = mailgun_signature("key-not-ours", forged["timestamp"], forged["token"])
    refused = post(client, forged)
    assert (refused.status_code, refused.json["detail"]) == (400, "The signature does not match MAILGUN_SIGNING_KEY.")
    unsigned = post(client, {"body-mime": "From: x@y.test\r\n\r\nhi"})
    assert unsigned.status_code == 400
    assert stored(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookToken)) == 1


def test_a_request_that_can_never_be_a_message_is_a_406_so_mailgun_stops(app, client):
    missing = post(client, signed(None))
    assert missing.status_code == 406
    assert missing.mimetype == "application/problem+json"
    assert missing.json["detail"] == "No raw message in body-mime: forward the route to /webhooks/inbound/mailgun/mime."
    assert post(client, signed(b"just some words, no headers at all")).status_code == 406
    assert stored(app) == 0


def test_a_message_over_the_cap_is_stored_cut_not_refused(app, client, owner):
    _, address, _ = invited(app, owner)
    raw = shaped("reply_gmail_en.eml", address) + b"\r\n" + b"y" * (2 * 1024 * 1024)
    response = post(client, signed(raw, recipient=address))
    assert response.status_code == 200
    with app.app_context():
        message = db.session.scalars(select(InboundMessage)).one()
        assert message.truncated and message.size > 2 * 1024 * 1024


def test_without_a_signing_key_the_webhook_says_so(app_config, client):
    from feedback import create_app

    app_config["MAILGUN_SIGNING_KEY"] = ""
    response = create_app(app_config).test_client().post("/webhooks/inbound/mailgun", data=signed(b"From: a@b\r\n"))
    assert response.status_code == 503
    assert "MAILGUN_SIGNING_KEY is not set" in response.json["detail"]


def test_the_mailgun_webhook_is_rate_limited_like_the_others(app_config, smtp):
    from feedback import create_app

    app_config.update(RATELIMIT_ENABLED=True, WEBHOOK_RATE_LIMIT="2 per minute")
    client = create_app(app_config).test_client()
    codes = [post(client, signed(None)).status_code for _ in range(3)]
    assert codes == [406, 406, 429]


def test_used_tokens_are_forgotten_a_day_later_by_the_process_job(app, client):
    from datetime import timedelta

    from conftest import run_jobs

    from feedback.db import utcnow

    post(client, signed(None))  # refused (406) before its token is kept
    post(client, signed(b"From: someone@else.test\r\nMessage-ID: <t1@else.test>\r\n\r\nHi"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookToken)) == 1
    run_jobs(app, utcnow() + timedelta(hours=23))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookToken)) == 1
    run_jobs(app, utcnow() + timedelta(days=1, minutes=5))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookToken)) == 0
