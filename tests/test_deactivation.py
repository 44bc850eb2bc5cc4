"""Offboarding (issue 28): `flask users deactivate EMAIL` and the staff page's Deactivate leave no way to sign in;
Admin → Staff shows each person's last sign-in and how, read from the audit trail."""

from __future__ import annotations

from typing import Any

from conftest import AuthActions, csrf_token, deliver, submit_form
from flask import Flask
from sqlalchemy import select

from feedback.audit.models import AuditEvent
from feedback.auth.models import User
from feedback.extensions import db

STAFF = "/admin/staff/"


def cannot_sign_in(app: Flask, smtp: Any, email: str) -> None:
    """Neither a password, nor a reset link (none is sent), nor an old session opens the account."""
    visitor = app.test_client()
    refused = AuthActions(visitor).login(email)
    assert refused.status_code == 401 and "match an active account" in refused.text
    smtp.clear()
    submit_form(visitor, "/reset-password/", {"email": email})
    deliver(app)
    assert smtp.to(email) == []
    with app.app_context():
        failure = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "staff.sign_in_failed").order_by(AuditEvent.id.desc())
        ).first()
        assert failure is not None and failure.detail.startswith("The account is deactivated.")


def test_flask_users_deactivate_ends_every_session_and_every_way_in(
    app: Flask, runner: Any, client: Any, smtp: Any, auth: Any, owner: Any, admin: Any
) -> None:
    auth.login(owner["email"])
    assert client.get("/cancellations/").status_code == 200
    done = runner.invoke(args=["users", "deactivate", "OLIVIA@acme.test "])
    assert done.exit_code == 0, done.output
    assert "Deactivated olivia@acme.test" in done.output
    after = client.get("/cancellations/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    cannot_sign_in(app, smtp, owner["email"])
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.deactivate")).one()
        assert event.actor == "command line" and event.target_id == str(owner["id"])
    again = runner.invoke(args=["users", "deactivate", owner["email"]])
    assert again.exit_code == 1 and "deactivated already" in again.output
    unknown = runner.invoke(args=["users", "deactivate", "nobody@acme.test"])
    assert unknown.exit_code == 1 and "No staff member has the address nobody@acme.test" in unknown.output
    last = runner.invoke(args=["users", "deactivate", admin["email"]])
    assert last.exit_code == 1 and "last active admin" in last.output
    with app.app_context():
        assert db.session.get(User, admin["id"]).active  # type: ignore[union-attr]


def test_the_staff_pages_deactivation_leaves_no_way_in(
    app: Flask, client: Any, smtp: Any, auth: Any, owner: Any, admin: Any
) -> None:
    auth.login(admin["email"])
    page = client.get(STAFF)
    client.post(f"/admin/staff/{owner['id']}/deactivate", data={"csrf_token": csrf_token(page.text)})
    cannot_sign_in(app, smtp, owner["email"])


def test_the_staff_page_shows_each_persons_last_sign_in_and_how(
    app: Flask, client: Any, auth: Any, owner: Any, admin: Any
) -> None:
    other = app.test_client()
    AuthActions(other).login(owner["email"])
    AuthActions(other).logout()
    second = AuthActions(other).login(owner["email"], password="wrong password!")  # a failure is no sign-in
    assert second.status_code == 401
    auth.login(admin["email"])
    page = client.get(STAFF).text
    rows = {row.split("</strong>")[0].rsplit(">", 1)[1]: row for row in page.split("<tr>")[2:]}
    assert "with a password from 127.0.0.1" in rows["Olivia Owner"]
    assert "with a password from 127.0.0.1" in rows["Ada Admin"]
    with app.app_context():
        db.session.add(User(email="nina@acme.test", name="Nina New", role="owner"))
        db.session.commit()
    assert ">Never<" in client.get(STAFF).text.split("Nina New")[1].split("</tr>")[0]
