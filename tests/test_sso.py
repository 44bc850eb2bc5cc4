"""OpenID Connect sign-in (issue 28, item 1) against a real provider on loopback (tests/oidc_provider.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import PASSWORD, make_config
from flask import Flask
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from sqlalchemy import select

from feedback import create_app
from feedback.audit.models import AuditEvent
from feedback.auth.models import User
from feedback.extensions import db

CALLBACK = "http://localhost/login/sso/callback"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider() as running:
        running.redirect_uris = [CALLBACK]
        running.user = {"email": "olivia@acme.test", "name": "Olivia Owner"}
        yield running


def sso_config(database_url: str, smtp: Any, provider: Provider, **overrides: Any) -> dict[str, Any]:
    return make_config(
        database_url,
        smtp,
        OIDC_ISSUER=provider.issuer,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_NAME="Keycloak",
        **overrides,
    )


@pytest.fixture
def app_config(database_url: str, smtp: Any, provider: Provider) -> dict[str, Any]:
    return sso_config(database_url, smtp, provider)


def to_provider(client: Any) -> str:
    """Presses the button; returns where the provider sends the browser back (the callback with code and state)."""
    start = client.get("/login/sso/")
    assert start.status_code == 302
    answer = httpx.get(start.headers["Location"], follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def back(client: Any, location: str) -> Any:
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: Any) -> Any:
    return back(client, to_provider(client))


def refused(client: Any, response: Any, words: str) -> None:
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert words in client.get("/login").text
    assert client.get("/cancellations/").status_code == 302


def test_the_login_page_offers_the_provider_and_an_owner_signs_in(app: Flask, client: Any, provider: Any, owner: Any):
    assert "Sign in with Keycloak" in client.get("/login").text
    done = sign_in(client)
    assert done.status_code == 302 and done.headers["Location"].endswith("/cancellations/")
    assert client.get("/cancellations/").status_code == 200
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.sign_in")).one()
        assert event.detail.startswith("Signed in with single sign-on (Keycloak).")


def test_a_wrong_state_is_refused(client: Any, provider: Any, owner: Any) -> None:
    location = to_provider(client).replace("state=", "state=x")
    refused(client, back(client, location), "state does not match")


def test_a_replayed_code_is_refused(client: Any, provider: Any, owner: Any) -> None:
    location = to_provider(client)
    assert back(client, location).headers["Location"].endswith("/cancellations/")
    thief = client.application.test_client()  # another browser with a sign-in of its own pending, and the old code
    thief.get("/login/sso/")
    with thief.session_transaction() as session:
        state = session["oidc"]["state"]
    replay = location.split("state=")[0] + "state=" + state
    refused(thief, back(thief, replay), "refused the code")


def test_a_wrong_nonce_audience_or_expiry_is_refused(client: Any, provider: Any, owner: Any) -> None:
    for claims, words in (
        ({"nonce": "not-ours"}, "nonce"),
        ({"aud": ["someone-else"]}, "aud"),
        ({"exp": 1}, "expired"),
        ({"iss": "https://impostor.test"}, "iss"),
    ):
        provider.claims = claims
        refused(client, sign_in(client), words)


def test_an_unknown_key_id_refetches_the_keys_once_and_follows_a_rotation(client: Any, provider: Any, owner: Any):
    assert sign_in(client).headers["Location"].endswith("/cancellations/")
    fetched = provider.jwks_fetches
    provider.rotate("k2")
    client.post("/logout")
    other = client.application.test_client()
    assert sign_in(other).headers["Location"].endswith("/cancellations/")
    assert provider.jwks_fetches == fetched + 1
    provider.kid = "k3-unpublished"
    provider.keys["k3-unpublished"] = provider.keys["k2"]
    third = client.application.test_client()
    refused(third, sign_in(third), "ID token was refused")


def test_an_unverified_email_is_refused(client: Any, provider: Any, owner: Any) -> None:
    provider.user = {**provider.user, "verified": False}
    refused(client, sign_in(client), "has not verified olivia@acme.test")


def test_only_existing_staff_unless_the_domain_is_allowed(database_url, smtp, provider: Any, owner: Any) -> None:
    provider.user = {"email": "nina@acme.test", "name": "Nina New"}
    closed = create_app(sso_config(database_url, smtp, provider)).test_client()
    refused(closed, sign_in(closed), "No staff account has nina@acme.test")
    provider.user = {"email": "eve@elsewhere.test", "name": "Eve"}
    app = create_app(sso_config(database_url, smtp, provider, OIDC_ALLOWED_DOMAINS="acme.test"))
    client = app.test_client()
    refused(client, sign_in(client), "No staff account has eve@elsewhere.test")
    provider.user = {"email": "nina@acme.test", "name": "Nina New"}
    assert sign_in(client).headers["Location"].endswith("/cancellations/")
    with app.app_context():
        nina = db.session.scalars(select(User).where(User.email == "nina@acme.test")).one()
        assert (nina.role, nina.name, nina.password_hash) == ("owner", "Nina New", None)
        db.session.remove()
        db.engine.dispose()


def test_a_deactivated_person_cannot_sign_in_through_the_provider(app, client, runner, provider, owner, admin):
    assert runner.invoke(args=["users", "deactivate", owner["email"]]).exit_code == 0
    refused(client, sign_in(client), "deactivated")


def test_the_role_follows_the_groups_at_every_sign_in(database_url, smtp, provider, owner, admin) -> None:
    app = create_app(sso_config(database_url, smtp, provider, OIDC_ROLES_CLAIM="groups", OIDC_ADMIN_VALUES="ops"))
    provider.user = {**provider.user, "extra": {"groups": ["staff", "ops"]}}
    assert sign_in(app.test_client()).status_code == 302
    with app.app_context():
        assert db.session.get(User, owner["id"]).role == "admin"  # type: ignore[union-attr]
    provider.user = {**provider.user, "extra": {"groups": ["staff"]}}
    assert sign_in(app.test_client()).status_code == 302
    with app.app_context():
        assert db.session.get(User, owner["id"]).role == "owner"  # type: ignore[union-attr]
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.role")).all()) == 2
        db.session.remove()
        db.engine.dispose()


def test_oidc_only_turns_passwords_off_but_set_password_still_works(database_url, smtp, provider, owner) -> None:
    # No CSRF check here: the page has no form to take a token from, and the refusal must not depend on it.
    app = create_app(sso_config(database_url, smtp, provider, OIDC_ONLY=True, WTF_CSRF_ENABLED=False))
    client = app.test_client()
    page = client.get("/login").text
    assert "Sign in with Keycloak" in page and 'name="password"' not in page and "Forgot your password" not in page
    assert client.post("/login", data={"email": owner["email"], "password": PASSWORD}).status_code == 403
    assert client.get("/reset-password/").status_code == 404
    assert client.get("/cancellations/").status_code == 302
    broken = app.test_cli_runner().invoke(
        args=["users", "set-password", owner["email"], "--password", "a-new-long-one"]
    )
    assert broken.exit_code == 0, broken.output
    with app.app_context():
        assert db.session.get(User, owner["id"]).check_password("a-new-long-one")  # type: ignore[union-attr]
        db.session.remove()
        db.engine.dispose()
