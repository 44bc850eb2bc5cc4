"""Staff accounts: invitations, passwords, deactivation, reassignment, login throttling and sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import PASSWORD, AuthActions, csrf_token, deliver, link_in, log, submit_form
from sqlalchemy import select

from feedback.auth.models import User
from feedback.auth.throttle import MAX_FAILURES, locked_until
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation

STAFF = "/admin/staff/"


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def invite(client, email="nina@acme.test", name="Nina New", role="owner"):
    return submit_form(client, STAFF, {"name": name, "email": email, "role": role})


def invite_link(app, smtp, email="nina@acme.test"):
    deliver(app)
    message = smtp.one(email, "invited you")
    return link_in(message, r"http://localhost/welcome/\S+").removeprefix("http://localhost")


def test_an_invited_colleague_sets_a_password_once(app, client, smtp, logged_in_admin, auth):
    response = invite(client)
    assert response.status_code == 302
    assert "Invited, no password yet" in client.get(STAFF).text
    link = invite_link(app, smtp)
    auth.logout()

    page = client.get(link)
    assert page.status_code == 200 and "Welcome, Nina New" in page.text
    short = client.post(link, data={"csrf_token": csrf_token(page.text), "password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    same = client.post(link, data={"csrf_token": csrf_token(page.text), "password": "Nina@acme.test",
                                   "confirm": "Nina@acme.test"})  # fmt: skip
    assert "must not be the email address" in same.text
    done = client.post(link, data={"csrf_token": csrf_token(page.text), "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302
    assert "Welcome, Nina New" in client.get("/cancellations/", follow_redirects=True).text

    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "nina@acme.test")).one()
        assert user.role == "owner" and user.password_hash.startswith("scrypt:")
    used = client.get(link)
    assert used.status_code == 410 and "already been used" in used.text
    assert client.get("/welcome/not-a-token").status_code == 404


def test_an_invitation_expires(app, client, smtp, logged_in_admin, monkeypatch):
    invite(client)
    link = invite_link(app, smtp)
    import itsdangerous.timed

    later = utcnow() + timedelta(days=8)
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(later.timestamp()))
    expired = client.get(link)
    assert expired.status_code == 410 and "has expired" in expired.text


def test_a_deactivated_invitees_link_says_so(app, client, smtp, logged_in_admin):
    invite(client)
    link = invite_link(app, smtp)
    with app.app_context():
        user_id = db.session.scalars(select(User.id).where(User.email == "nina@acme.test")).one()
    client.post(f"/admin/staff/{user_id}/deactivate", data={"csrf_token": csrf_token(client.get(STAFF).text)})
    page = client.get(link)
    assert page.status_code == 410 and "This account has been deactivated" in page.text


def test_inviting_an_existing_address_says_so(client, logged_in_admin, owner):
    response = invite(client, email=owner["email"])
    assert response.status_code == 422
    assert "already exists" in response.text and "Nina New" in response.text


def test_deactivation_ends_sessions_at_once(app, client, logged_in_owner, admin):
    assert client.get("/cancellations/").status_code == 200
    admin_client = app.test_client()  # the admin acts from another browser
    AuthActions(admin_client).login(admin["email"])
    page = admin_client.get(STAFF)
    response = admin_client.post(
        f"/admin/staff/{logged_in_owner['id']}/deactivate", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302
    assert "deactivated; their sessions have ended" in admin_client.get(STAFF).text
    after = client.get("/cancellations/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]


def test_admins_cannot_deactivate_themselves(app, client, logged_in_admin):
    page = client.get(STAFF)
    client.post(f"/admin/staff/{logged_in_admin['id']}/deactivate", data={"csrf_token": csrf_token(page.text)})
    assert "You cannot deactivate your own account" in client.get(STAFF).text


def test_a_deactivated_owners_open_cancellations_are_reassigned(app, client, smtp, logged_in_admin, owner,
                                                                other_owner):  # fmt: skip
    open_id = log(app, owner["email"], customer_name="Open Case", customer_email="open@client.test")
    page = client.get(STAFF)
    client.post(f"/admin/staff/{owner['id']}/deactivate", data={"csrf_token": csrf_token(page.text)})
    assert "Reassign open cancellations" in client.get(STAFF).text
    deliver(app)
    smtp.clear()

    form = client.get(f"/admin/staff/{owner['id']}/reassign")
    assert "Open Case" in form.text
    done = client.post(f"/admin/staff/{owner['id']}/reassign",
                       data={"csrf_token": csrf_token(form.text), "to_user": str(other_owner["id"])})  # fmt: skip
    assert done.status_code == 302
    assert "1 open cancellation reassigned to Oscar Other" in client.get(STAFF).text
    with app.app_context():
        cancellation = db.session.get(Cancellation, open_id)
        assert cancellation.owner_id == other_owner["id"]
        assert any(e.kind == "reassigned" for e in cancellation.events)
    deliver(app)
    assert "your review, please" in str(smtp.one(other_owner["email"])["Subject"])


def test_login_is_throttled_after_repeated_failures(app, client, auth, owner):
    for _ in range(MAX_FAILURES):
        assert auth.login(owner["email"], "wrong password!").status_code == 401
    locked = auth.login(owner["email"])  # even the right password waits
    assert locked.status_code == 429
    assert "Too many failed attempts for this address. Try again in 15 minutes" in locked.text
    with app.app_context():
        until = locked_until(owner["email"])
        assert until is not None
        assert locked_until(owner["email"], now=until) is None  # the wait ends
    assert auth.login("OLIVIA@acme.test").status_code == 429  # the address, however typed


def test_a_successful_login_clears_failures(app, auth, owner):
    for _ in range(MAX_FAILURES - 1):
        auth.login(owner["email"], "wrong password!")
    assert auth.login(owner["email"]).status_code == 302
    auth.logout()
    assert auth.login(owner["email"], "wrong password!").status_code == 401
    assert auth.login(owner["email"]).status_code == 302


def test_login_rotates_the_session(client, auth, owner):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(owner["email"])
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(owner["id"])


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/admin/questions/", "/admin/questions/"),
        ("https://evil.test/", "/cancellations/"),
        ("//evil.test/x", "/cancellations/"),
        ("/\\evil.test", "/cancellations/"),
    ],  # fmt: skip
)
def test_next_stays_on_this_site(auth, admin, next_url, lands_on):
    response = auth.login(admin["email"], next_url=next_url)
    assert response.headers["Location"] == lands_on


def test_reassigning_a_case_that_waits_for_contact_asks_for_one_review_once(app, smtp, owner, other_owner, admin):
    from feedback.auth.models import User
    from feedback.customers.contact import complete_contact
    from feedback.staff.operations import reassign_open_cancellations

    waiting = log(app, owner["email"], customer_name="", customer_email="", needs_contact=True)
    with app.app_context():
        from_user, to_user, acting = (db.session.get(User, p["id"]) for p in (owner, other_owner, admin))
        from_user.active = False
        assert reassign_open_cancellations(from_user, to_user, acting) == 1
        complete_contact(waiting, "Wanda Waiting", "wanda@client.test", acting)
        db.session.commit()
    deliver(app)
    requests = [m for m in smtp.to(other_owner["email"]) if "your review, please" in str(m["Subject"])]
    assert len(requests) == 1  # asked once, when the customer could be reached, not also at reassignment
    assert smtp.one("wanda@client.test")
