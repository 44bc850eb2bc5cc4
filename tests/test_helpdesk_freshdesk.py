"""Freshdesk against a local fake in its documented shapes: basic auth `key:X`, the Link header's next page."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import log, run_jobs
from sqlalchemy import select
from werkzeug.wrappers import Response

from feedback.db import utcnow
from feedback.extensions import db
from feedback.helpdesk.models import Conversation, HelpdeskFetch

FIXTURES = Path(__file__).parent / "fixtures" / "freshdesk"
KEY = "fd-api-key"
CANCELLED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def app_config(app_config, httpserver):
    return {**app_config, "FRESHDESK_URL": httpserver.url_for("/").rstrip("/"), "FRESHDESK_API_KEY": KEY}


def fake(httpserver, requests: list) -> None:
    expected = "Basic " + base64.b64encode(f"{KEY}:X".encode()).decode()

    def tickets(request):
        requests.append(dict(request.args))
        if request.headers.get("Authorization") != expected:
            return Response('{"code": "invalid_credentials", "message": "You have to be logged in"}', 401)
        page = request.args.get("page", "1")
        body = (FIXTURES / f"tickets_page_{page}.json").read_text()
        headers = {}
        if page == "1":
            headers["Link"] = f'<{httpserver.url_for("/api/v2/tickets")}?page=2&per_page=100>; rel="next"'
        return Response(body, 200, headers=headers, content_type="application/json")

    httpserver.expect_request("/api/v2/tickets").respond_with_handler(tickets)


def test_freshdesk_tickets_arrive_in_one_worker_pass(app, owner, httpserver):
    requests: list = []
    fake(httpserver, requests)
    log(app, owner["email"], customer_email="casey+team@client.test", cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    assert requests[0] == {
        "email": "casey+team@client.test",
        "updated_since": "2025-12-01T12:00:00Z",
        "include": "description,stats",
        "order_by": "created_at",
        "order_type": "desc",
        "per_page": "100",
    }
    assert requests[1]["page"] == "2"
    with app.app_context():
        sync, onboarding = db.session.scalars(select(Conversation).order_by(Conversation.opened_at.desc())).all()
        assert (sync.source, sync.external_id, sync.status, sync.channel) == ("freshdesk", "204", "resolved", "email")
        assert sync.subject == "Sync <i>stopped</i> & data lost"
        assert sync.opening_message == "Our sync stopped on Monday.\nWe lost a day of data."
        assert sync.url.endswith("/a/tickets/204") and sync.opened_by_customer
        assert sync.solved_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        assert not onboarding.opened_by_customer  # source 10: an outbound email of ours
        assert db.session.scalars(select(HelpdeskFetch.outcome)).one() == "2 conversations kept"


def test_a_wrong_freshdesk_key_is_said_plainly(app, owner, httpserver):
    requests: list = []
    fake(httpserver, requests)
    app.config["FRESHDESK_API_KEY"] = "revoked"
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    with app.app_context():
        fetch = db.session.scalars(select(HelpdeskFetch)).one()
        assert (fetch.state, fetch.outcome) == (
            "failed",
            "Freshdesk answered 401: the API key is wrong. No conversations were read.",
        )
    assert len(requests) == 1  # asked once, and gave up: a wrong key is not retried
