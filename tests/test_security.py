"""Security headers on every response, and rate limits counted in Redis (shared by app servers) or in memory."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import IN_CI, TEST_REDIS_URL, AuthActions, deliver, free_port, link_in, log, make_config

from feedback import create_app
from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.settings.models import SiteSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
REDIS_URL = TEST_REDIS_URL  # a database number of its own (15 by default); only this test's keys are removed


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


class Forwarder:
    """A TCP port that is closed until `open()`, then passes every connection on to the real Redis: Redis going
    away and coming back, as the app sees it, without stopping the Redis that other tests share."""

    def __init__(self, port: int, target: tuple[str, int]):
        self.port, self.target = port, target
        self.sockets: list[socket.socket] = []

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.sockets.append(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def test_redis_going_away_and_coming_back_is_logged_once_each_and_shown_in_healthz(
    redis_limits, tokens, caplog
):  # fmt: skip
    real = urlsplit(REDIS_URL)
    forwarder = Forwarder(free_port(), (real.hostname or "127.0.0.1", real.port or 6379))
    url = f"redis://127.0.0.1:{forwarder.port}{real.path}"  # nothing listens there yet
    app = create_app({**redis_limits, "RATELIMIT_STORAGE_URI": url, "API_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    caplog.set_level("INFO", logger="feedback.ratelimits")
    assert client.get("/healthz").json["rate_limits"] == {"storage": "redis", "counting": "shared"}

    for _ in range(3):
        assert get_api(client, tokens[0]).status_code == 200
    assert_too_many(get_api(client, tokens[0]))  # still limited meanwhile, in this process's memory
    down = [r for r in caplog.records if r.name == "feedback.ratelimits" and "unreachable" in r.message]
    assert len(down) == 1 and down[0].levelname == "WARNING"
    assert "each app server process allows the full limit" in down[0].message
    health = client.get("/healthz").json
    assert health["status"] == "ok" and health["rate_limits"]["counting"].startswith("in this process")
    assert "unreachable_since" in health["rate_limits"]

    forwarder.open()
    try:
        for _ in range(300):  # Flask-Limiter tries the storage again after a second, then backs off
            if client.get("/healthz").json["rate_limits"]["counting"] == "shared":
                break
            time.sleep(0.1)
        assert client.get("/healthz").json["rate_limits"] == {"storage": "redis", "counting": "shared"}
        assert get_api(client, tokens[1]).status_code == 200  # counted in Redis again
        assert get_api(client, tokens[1]).headers["RateLimit"].startswith("limit=3, remaining=1")
    finally:
        forwarder.close()
    back = [r for r in caplog.records if r.name == "feedback.ratelimits" and "shared again" in r.message]
    assert len(back) == 1
    assert len([r for r in caplog.records if r.name == "feedback.ratelimits"]) == 2  # once each, not per request
