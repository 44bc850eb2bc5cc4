"""The audit trail, a colleague's role with the last-admin rule, and password reset by email."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from conftest import PASSWORD, csrf_token, deliver, link_in, log, submit_form
from sqlalchemy import select

from feedback.audit.models import AuditEvent
from feedback.auth.models import User
from feedback.extensions import db

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def events(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_admins_read_the_trail_filtered_and_nobody_edits_it(app, client, auth, logged_in_admin, owner, smtp):
    log(app, owner["email"])  # the command line
    submit_form(client, "/admin/settings/", {"company_name": "Acme Two"})
    submit_form(client, "/admin/tokens/", {"name": "CRM", "scopes": ["events:read"]})
    page = client.get("/admin/audit")
    assert page.status_code == 200
    for words in ("cancellation.log", "command line", "token.create", logged_in_admin["email"], "127.0.0.1"):
        assert words in page.text
    only = client.get("/admin/audit?action=token.create")
    assert "token.create" in only.text and "Logged from the" not in only.text
    assert "cancellation.log" in client.get("/admin/audit?target=cancellation:1").text
    assert client.post("/admin/audit").status_code == 405
    auth.logout()
    auth.login(owner["email"])
    assert client.get("/admin/audit").status_code == 403


def test_role_changes_keep_one_admin(app, client, logged_in_admin, owner):
    staff = client.get("/admin/staff/").text
    token = csrf_token(staff)
    made = client.post(f"/admin/staff/{owner['id']}/role", data={"csrf_token": token, "role": "admin"})
    assert made.status_code == 302
    with app.app_context():
        assert db.session.get(User, owner["id"]).role == "admin"
    [event] = events(app, "staff.role")
    assert event.actor == logged_in_admin["email"] and "owner → admin" in event.detail
    # With two admins, Ada may step down; the one left can't.
    client.post(f"/admin/staff/{logged_in_admin['id']}/role", data={"csrf_token": token, "role": "owner"})
    with app.app_context():
        assert db.session.get(User, logged_in_admin["id"]).role == "owner"
        olivia = db.session.get(User, owner["id"])
        from feedback.auth.operations import InvalidUser
        from feedback.staff.operations import change_role, set_active

        with pytest.raises(InvalidUser, match="last active admin"):
            change_role(olivia, "owner", olivia)
        with pytest.raises(InvalidUser, match="last active admin"):
            set_active(olivia, False, db.session.get(User, logged_in_admin["id"]))


def test_password_reset_by_email_once_within_an_hour(app, client, auth, owner, smtp):
    asked = submit_form(client, "/reset-password/", {"email": owner["email"].upper()})
    unknown = submit_form(client, "/reset-password/", {"email": "nobody@acme.test"})
    assert asked.status_code == unknown.status_code == 200
    assert "If" in asked.text and asked.text.replace(owner["email"].upper(), "X") == unknown.text.replace(
        "nobody@acme.test", "X"
    )  # the same answer either way
    deliver(app)
    assert smtp.to("nobody@acme.test") == []
    link = link_in(smtp.one(owner["email"], "Reset"), r"http://localhost/reset-password/\S+")
    path = link.removeprefix("http://localhost")
    page = client.get(path)
    assert page.status_code == 200
    short = client.post(path, data={"csrf_token": csrf_token(page.text), "password": "short", "confirm": "short"})
    assert short.status_code == 422
    done = client.post(path, data={"csrf_token": csrf_token(page.text), "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})  # fmt: skip
    assert done.status_code == 302
    assert client.get(path).status_code == 410  # used
    assert auth.login(owner["email"], PASSWORD).status_code == 401
    assert auth.login(owner["email"], NEW_PASSWORD).status_code == 302
    assert [e.action for e in events(app, "staff.password_reset")] == ["staff.password_reset"]
    assert client.get("/reset-password/forged").status_code == 404

    auth.logout()
    submit_form(client, "/reset-password/", {"email": owner["email"]})
    deliver(app)
    later = link_in(smtp.to(owner["email"])[-1], r"http://localhost/reset-password/\S+").removeprefix(
        "http://localhost"
    )
    import time

    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() + timedelta(hours=1, minutes=1).seconds):
        expired = client.get(later)
    assert expired.status_code == 410 and "expired" in expired.text


@pytest.mark.skipif(not hasattr(User, "end_sessions"), reason="session generations land with the security branch")
def test_a_new_password_ends_other_sessions(app, owner, smtp):
    from conftest import AuthActions

    elsewhere = app.test_client()
    AuthActions(elsewhere).login(owner["email"])
    here = app.test_client()
    submit_form(here, "/reset-password/", {"email": owner["email"]})
    deliver(app)
    path = link_in(smtp.one(owner["email"], "Reset"), r"http://localhost/reset-password/\S+")
    path = path.removeprefix("http://localhost")
    page = here.get(path)
    here.post(path, data={"csrf_token": csrf_token(page.text), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert elsewhere.get("/cancellations/").status_code == 302
