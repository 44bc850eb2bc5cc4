"""Security headers on every response, and rate limits counted in Redis (shared by app servers) or in memory."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import IN_CI, AuthActions, deliver, link_in, log, make_config

from feedback import create_app
from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.settings.models import SiteSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database number of its own; only this run's keys are removed


def policy(response: Any) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


def assert_protected(response: Any, referrer: str = "strict-origin-when-cross-origin") -> None:
    csp = policy(response)
    assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'self'", response.request.path
    assert "unsafe" not in csp["script-src"] + csp["default-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == referrer, response.request.path
    assert "Strict-Transport-Security" not in response.headers  # BASE_URL is http:// here


def survey_and_unsubscribe_links(app: Any, smtp: Any, owner: Any) -> tuple[str, str]:
    log(app, owner["email"], customer_email="headers@client.test")
    deliver(app)
    invitation = smtp.one("headers@client.test")
    return link_in(invitation).removeprefix("http://localhost"), link_in(
        invitation, r"http://localhost/u/\S+"
    ).removeprefix("http://localhost")


def test_every_kind_of_response_carries_the_security_headers(app, client, auth, smtp, owner, admin):
    survey, unsubscribe = survey_and_unsubscribe_links(app, smtp, owner)
    for path in ("/login", "/healthz", "/static/style.css", "/no-such-page", "/api/v1/cancellations"):
        assert_protected(client.get(path))
    assert_protected(client.post("/webhooks/stripe", data=b"{}"))
    assert_protected(client.get(survey), referrer="no-referrer")  # the links carry their tokens
    assert_protected(client.get(unsubscribe), referrer="no-referrer")
    assert_protected(client.get("/welcome/not-a-token"), referrer="no-referrer")
    auth.login(admin["email"])
    for path in ("/cancellations/", "/admin/staff/", "/admin/email/", "/admin/questions/", "/cancellations/import"):
        assert_protected(client.get(path))
    preview = client.get("/admin/email/1")  # an email's own HTML is styled inline: allowed there, still no script
    assert policy(preview)["style-src"] == "'self' 'unsafe-inline'" and policy(preview)["script-src"] == "'self'"
    assert policy(client.get("/admin/staff/"))["style-src"] == "'self'"


def test_hsts_only_when_base_url_is_https(database_url, smtp):
    secure = create_app(make_config(database_url, smtp, BASE_URL="https://farewell.acme.test"))
    response = secure.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_accent_colour_style_is_let_through_by_a_nonce_made_per_response(app, client, smtp, owner):
    survey, _ = survey_and_unsubscribe_links(app, smtp, owner)
    with app.app_context():
        settings = db.session.get(SiteSettings, 1) or SiteSettings(id=1)
        settings.accent_color = "#0f766e"
        db.session.add(settings)
        db.session.commit()
    pages = [client.get(survey), client.get(survey)]
    nonces = []
    for page in pages:
        nonce = re.search(r'<style nonce="([^"]+)">\.customer \{ --accent: #0f766e', page.text).group(1)
        assert policy(page)["style-src"] == f"'self' 'nonce-{nonce}'"
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_no_template_holds_what_the_policy_would_block():
    """Inline scripts, event handler attributes, style attributes and javascript: URLs: none, anywhere."""
    blocked = re.compile(r"<script(?![^>]*\ssrc=)|\son[a-z]+\s*=|\sstyle\s*=|javascript:|<style(?![^>]*nonce=)", re.I)
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if blocked.search(line)
    ]
    assert found == []


# --- Rate limits ------------------------------------------------------------------------------------


@pytest.fixture
def redis_limits(app_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Limits on, counted in the real Redis under a prefix of this test's own, which is removed afterwards."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError as error:
        if IN_CI:
            pytest.fail(f"Redis does not answer at {REDIS_URL}: {error}")
        pytest.skip(f"Redis does not answer at {REDIS_URL} (.ci/run starts it)")
    prefix = f"farewell-test-{uuid.uuid4().hex}"
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
    yield app_config
    keys = list(connection.scan_iter(match=f"*{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


@pytest.fixture
def tokens(app: Any) -> list[str]:
    with app.app_context():
        tokens = [create_token("Billing")[1], create_token("CRM")[1]]
        db.session.commit()
        return tokens


def get_api(client: Any, token: str, address: str = "192.0.2.1") -> Any:
    return client.get(
        "/api/v1/cancellations", headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": address}
    )


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert re.fullmatch(r"limit=3, remaining=0, reset=\d+", response.headers["RateLimit"])
    assert response.headers["RateLimit-Policy"] == "3;w=60"


def test_the_api_is_limited_per_token_and_per_address_in_redis(redis_limits, app, client, tokens):
    app.config["API_RATE_LIMIT"] = "3 per minute"  # read at each request
    first, second = tokens
    for remaining in (2, 1, 0):
        response = get_api(client, first)
        assert response.status_code == 200
        assert response.headers["RateLimit"].startswith(f"limit=3, remaining={remaining}, reset=")
    refused = get_api(client, first, address="192.0.2.99")  # the token is spent, from wherever it comes
    assert_too_many(refused)
    assert refused.mimetype == "application/problem+json"
    problem = json.loads(refused.text)
    assert (problem["status"], problem["title"]) == (429, "Slow down a little")
    assert get_api(client, second, address="192.0.2.2").status_code == 200  # another token, another address
    # The first address is spent too: a made-up token from it is counted against it, not given a fresh start.
    assert_too_many(get_api(client, "made-up", address="192.0.2.1"))


def test_app_servers_share_the_counts_in_redis(redis_limits, app, client, tokens):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    other_server = create_app({**redis_limits, "API_RATE_LIMIT": "3 per minute"}).test_client()
    assert get_api(client, tokens[0]).status_code == 200
    assert get_api(other_server, tokens[0]).status_code == 200
    assert get_api(client, tokens[0]).status_code == 200
    assert_too_many(get_api(other_server, tokens[0]))


def test_webhooks_get_a_problem_and_people_get_a_kind_page(app_config, smtp, owner):
    app_config.update(
        RATELIMIT_ENABLED=True, WEBHOOK_RATE_LIMIT="3 per minute", LOGIN_RATE_LIMIT="3 per minute",
        STRIPE_WEBHOOK_SECRET="whsec_test",
    )  # fmt: skip
    app = create_app(app_config)  # memory://, the development default
    client = app.test_client()
    for _ in range(3):
        assert client.post("/webhooks/stripe", data=b"{}").status_code == 400  # unsigned: refused, yet counted
    webhook = client.post("/webhooks/stripe", data=b"{}")
    assert_too_many(webhook)
    assert webhook.mimetype == "application/problem+json"

    for _ in range(3):
        assert client.get("/login").status_code == 200  # only attempts count, not the page
        assert AuthActions(client).login(owner["email"], "wrong password!").status_code == 401
    page = AuthActions(client).login(owner["email"])
    assert_too_many(page)
    assert page.mimetype == "text/html" and "Slow down a little" in page.text
    assert_protected(page)


def test_the_fresh_link_button_and_the_unsubscribe_post_are_limited(app_config, smtp, owner):
    app_config.update(RATELIMIT_ENABLED=True, FRESH_LINK_RATE_LIMIT="3 per minute", UNSUBSCRIBE_RATE_LIMIT="3/minute")
    app = create_app(app_config)
    client = app.test_client()
    survey, unsubscribe = survey_and_unsubscribe_links(app, smtp, owner)
    for _ in range(3):
        assert client.post(f"{survey}/new-link").status_code < 429
        assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code < 429
    assert_too_many(client.post(f"{survey}/new-link"))
    assert_too_many(client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}))
    assert client.get(unsubscribe).status_code == 200  # reading the page is not limited


def test_a_malformed_limit_is_refused_at_start(database_url, smtp):
    from feedback.config import ConfigError

    with pytest.raises(ConfigError, match="API_RATE_LIMIT must be a rate limit such as '120 per minute'"):
        create_app(make_config(database_url, smtp, API_RATE_LIMIT="lots"))
