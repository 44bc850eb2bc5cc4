"""Help Scout against a local fake: OAuth2 client credentials (Authlib), the token cached, the email query."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import log, run_jobs
from sqlalchemy import select
from werkzeug.wrappers import Response

from feedback.db import utcnow
from feedback.extensions import db
from feedback.helpdesk import helpscout
from feedback.helpdesk.models import Conversation, HelpdeskFetch

FIXTURES = Path(__file__).parent / "fixtures" / "helpscout"
APP_ID, SECRET = "hs-app", "hs-secret"


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def app_config(app_config, httpserver, monkeypatch):
    monkeypatch.setattr(helpscout, "_TOKENS", {})
    url = httpserver.url_for("/").rstrip("/")
    return {**app_config, "HELPSCOUT_APP_ID": APP_ID, "HELPSCOUT_APP_SECRET": SECRET, "HELPSCOUT_API_URL": url}


def fake(httpserver, tokens: list, searches: list) -> None:
    def token(request):
        tokens.append(dict(request.form))
        if (request.form.get("client_id"), request.form.get("client_secret")) != (APP_ID, SECRET):
            return Response('{"error": "invalid_client"}', 401, content_type="application/json")
        return Response(json.dumps({"token_type": "bearer", "access_token": "tok-1", "expires_in": 172800}), 200,
                        content_type="application/json")  # fmt: skip

    def conversations(request):
        searches.append(dict(request.args))
        if request.headers.get("Authorization") != "Bearer tok-1":
            return Response('{"error": "unauthorized"}', 401, content_type="application/json")
        return Response((FIXTURES / "conversations.json").read_text(), 200, content_type="application/hal+json")

    httpserver.expect_request("/v2/oauth2/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/v2/conversations").respond_with_handler(conversations)


def test_help_scout_conversations_arrive_and_the_token_is_reused(app, owner, httpserver):
    tokens, searches = [], []
    fake(httpserver, tokens, searches)
    log(app, owner["email"], cancelled_at=datetime(2026, 12, 1, tzinfo=UTC))
    log(app, owner["email"], customer_email="blake@other.test", customer_name="Blake Other")
    run_jobs(app, utcnow())
    assert [t["grant_type"] for t in tokens] == ["client_credentials"]  # one token for both fetches
    assert searches[0]["query"] == '(email:"casey@client.test")' and searches[0]["status"] == "all"
    with app.app_context():
        kept = db.session.scalars(select(Conversation).order_by(Conversation.id)).all()
        first = kept[0]
        assert (first.source, first.external_id, first.status, first.replies) == ("helpscout", "10", "closed", 2)
        assert first.subject == "Billing twice <img src=x onerror=alert(1)>" and first.tags == ["billing"]
        assert first.url == "https://secure.helpscout.net/conversation/10/12" and first.opened_by_customer
        assert db.session.scalars(select(HelpdeskFetch.state)).all() == ["done", "done"]


def test_a_refused_app_secret_is_said_plainly(app, owner, httpserver):
    fake(httpserver, [], [])
    app.config["HELPSCOUT_APP_SECRET"] = "wrong"
    log(app, owner["email"])
    run_jobs(app, utcnow())
    with app.app_context():
        fetch = db.session.scalars(select(HelpdeskFetch)).one()
        assert fetch.state == "failed"
        assert fetch.outcome.startswith("Help Scout refused the app id or secret (invalid_client).")
