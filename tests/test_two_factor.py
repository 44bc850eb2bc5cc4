"""A second factor for passwords (issue 28, item 2): TOTP enrolment with an inline QR code, codes that work once,
recovery codes shown once, a step no URL skips, the throttle on codes, and an admin's reset."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from conftest import PASSWORD, AuthActions, csrf_token, make_config
from flask import Flask
from sqlalchemy import select

from feedback import create_app
from feedback.audit.models import AuditEvent
from feedback.auth.models import RecoveryCode, User
from feedback.auth.throttle import ACCOUNT_FREE
from feedback.extensions import db


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, REQUIRE_2FA="admins")


def post(client: Any, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client.get(path).text), **data})


def enrol(client: Any, email: str) -> tuple[str, list[str]]:
    """Password, then the enrolment page: returns the secret and the recovery codes it showed."""
    assert AuthActions(client).login(email).headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol")
    assert page.status_code == 200 and "<svg" in page.text and "<title>QR code to scan</title>" in page.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    done = post(client, "/login/enrol", code=pyotp.TOTP(secret).now())
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([0-9a-f]{10}-[0-9a-f]{10})</code></li>", done.text)
    return secret, codes


def signed_in(client: Any) -> bool:
    return client.get("/cancellations/").status_code == 200


def test_an_admin_enrols_at_sign_in_and_gets_ten_recovery_codes_once(app: Flask, client: Any, admin: Any) -> None:
    secret, codes = enrol(client, admin["email"])
    assert len(codes) == 10 and len(set(codes)) == 10
    assert signed_in(client)
    with app.app_context():
        user = db.session.get(User, admin["id"])
        assert user is not None and user.totp_secret == secret
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and not any(code in h for code in codes for h in hashes)  # only hashes kept
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.sign_in")).one()
        assert event.detail.startswith("Signed in with a password and an authenticator code.")


def test_an_owner_signs_in_with_a_password_alone_under_admins(client: Any, owner: Any) -> None:
    assert AuthActions(client).login(owner["email"]).headers["Location"].endswith("/cancellations/")


def test_the_step_cannot_be_skipped_by_going_to_another_url(app: Flask, client: Any, admin: Any) -> None:
    secret, _ = enrol(client, admin["email"])
    AuthActions(client).logout()
    moved_on = AuthActions(client).login(admin["email"])
    assert moved_on.headers["Location"].endswith("/login/code")
    for path in ("/cancellations/", "/admin/staff/", "/admin/tokens/", "/login/enrol"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert not signed_in(client)
    # The enrolment's step is spent; the next window's code is taken (a clock a little ahead).
    assert post(client, "/login/code", code=pyotp.TOTP(secret).at(time.time() + 30)).status_code == 302
    assert signed_in(client)


def test_a_code_works_once_and_the_previous_windows_code_still_counts(app: Flask, client: Any, admin: Any) -> None:
    secret, _ = enrol(client, admin["email"])
    totp = pyotp.TOTP(secret)
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])
    with app.app_context():
        enrolled_step = db.session.get(User, admin["id"]).totp_last_step  # type: ignore[union-attr]
    reused = post(client, "/login/code", code=totp.at(enrolled_step * 30))  # the enrolment's own code
    assert reused.status_code == 401 and "used already" in reused.text
    # Move the last accepted step back, as if enrolment had been a minute ago: the previous window's code works.
    with app.app_context():
        user = db.session.get(User, admin["id"])
        assert user is not None
        user.totp_last_step = int(time.time() // 30) - 2
        db.session.commit()
    assert post(client, "/login/code", code=totp.at(time.time() - 30)).status_code == 302
    assert signed_in(client)
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])
    assert post(client, "/login/code", code=totp.at(time.time() - 30)).status_code == 401  # that step is spent
    assert post(client, "/login/code", code=totp.at(time.time() - 120)).status_code == 401  # too old anyway


def test_a_recovery_code_works_once(app: Flask, client: Any, admin: Any) -> None:
    _, codes = enrol(client, admin["email"])
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])
    assert post(client, "/login/code", code=codes[3].upper()).status_code == 302
    assert signed_in(client)
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])
    assert post(client, "/login/code", code=codes[3]).status_code == 401
    with app.app_context():
        assert db.session.query(RecoveryCode).filter(RecoveryCode.used_at.is_not(None)).count() == 1
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.recovery_code")).one()


def test_codes_are_throttled_like_passwords(app: Flask, client: Any, admin: Any) -> None:
    enrol(client, admin["email"])
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])  # counts as an attempt, as every password does
    statuses = [post(client, "/login/code", code="000000").status_code for _ in range(ACCOUNT_FREE + 1)]
    assert statuses[-1] == 429 and 401 in statuses
    refused = post(client, "/login/code", code="000000")
    assert refused.status_code == 429 and "Too many wrong codes" in refused.text and refused.headers["Retry-After"]


def test_an_admin_resets_anothers_second_factor_audited(app: Flask, admin: Any, owner: Any) -> None:
    with app.app_context():
        user = db.session.get(User, owner["id"])
        assert user is not None
        user.role = "admin"
        db.session.commit()
    colleague = app.test_client()
    enrol(colleague, owner["email"])
    assert signed_in(colleague)
    client = app.test_client()
    secret, _ = enrol(client, admin["email"])
    staff = client.get("/admin/staff/").text
    assert "Reset second factor" in staff
    post(client, f"/admin/staff/{owner['id']}/reset-second-factor")
    assert not signed_in(colleague)  # the sessions the old factor opened have ended
    with app.app_context():
        user = db.session.get(User, owner["id"])
        assert user is not None and user.totp_secret is None
        assert db.session.query(RecoveryCode).filter(RecoveryCode.user_id == owner["id"]).count() == 0
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.two_factor_reset")).one()
        assert event.actor == admin["email"] and event.target_id == str(owner["id"])
    assert AuthActions(colleague).login(owner["email"]).headers["Location"].endswith("/login/enrol")


def test_require_2fa_defaults_to_admins_in_production_and_off_elsewhere(database_url: str, smtp: Any) -> None:
    testing = create_app(make_config(database_url, smtp))
    assert testing.config["REQUIRE_2FA"] == "off"
    assert create_app(make_config(database_url, smtp, REQUIRE_2FA="everyone")).config["REQUIRE_2FA"] == "everyone"
    from feedback.config import ConfigError

    with pytest.raises(ConfigError, match="REQUIRE_2FA must be admins, everyone or off"):
        create_app(make_config(database_url, smtp, REQUIRE_2FA="some"))
    production = make_config(
        database_url, smtp, FAREWELL_ENV="production", SECRET_KEY="x" * 40, BASE_URL="https://farewell.acme.test"
    )
    assert create_app(production).config["REQUIRE_2FA"] == "admins"


def test_with_2fa_off_nobody_is_asked(database_url: str, smtp: Any, admin: Any) -> None:
    del admin  # created in the fixture's app; this one shares its database
    app = create_app(make_config(database_url, smtp, REQUIRE_2FA="off"))
    client = app.test_client()
    assert AuthActions(client).login("ada@acme.test", PASSWORD).headers["Location"].endswith("/cancellations/")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
