"""Staff accounts: invitations, passwords, deactivation, reassignment, login throttling and sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from concurrency import at_once
from conftest import PASSWORD, TEST_DATABASE_URL, AuthActions, csrf_token, deliver, link_in, log, submit_form
from sqlalchemy import select

from feedback.auth.models import User
from feedback.auth.operations import create_user
from feedback.auth.throttle import ACCOUNT_FREE, CLIENT_FREE, FIRST_DELAY, LONGEST_DELAY, claim_attempt, delay_after
from feedback.db import utcnow
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.staff.operations import set_active

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
    assert "Reassign open work" in client.get(STAFF).text
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
    for _ in range(ACCOUNT_FREE):
        assert auth.login(owner["email"], "wrong password!").status_code == 401
    throttled = auth.login(owner["email"])  # even the right password waits, a little
    assert throttled.status_code == 429
    assert "Too many failed attempts. Try again in 1 minute" in throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 30
    assert auth.login("OLIVIA@acme.test").status_code == 429  # the address, however typed


def test_login_delays_grow_and_turned_away_attempts_extend_nothing(app, owner):
    """No hard lockout: after the free attempts each waits longer since the last checked one, up to a ceiling."""
    start = utcnow()
    with app.app_context():
        for second in range(ACCOUNT_FREE):
            assert claim_attempt(owner["email"], "10.0.0.1", now=start + timedelta(seconds=second)) is None
        last = start + timedelta(seconds=ACCOUNT_FREE - 1)
        for second in range(20):  # a flood of attempts, all turned away, none kept
            refused = claim_attempt(owner["email"], "10.0.0.9", now=last + timedelta(seconds=second))
            assert refused is not None and refused.until == last + FIRST_DELAY
        allowed = last + FIRST_DELAY
        assert claim_attempt(owner["email"], "10.0.0.1", now=allowed) is None
        refused = claim_attempt(owner["email"], "10.0.0.1", now=allowed + timedelta(seconds=1))
        assert refused is not None and refused.until == allowed + 2 * FIRST_DELAY  # twice as long
    assert [delay_after(n, ACCOUNT_FREE) for n in (4, 5, 6, 7, 20)] == [
        timedelta(0), FIRST_DELAY, 2 * FIRST_DELAY, 4 * FIRST_DELAY, LONGEST_DELAY
    ]  # fmt: skip


def test_one_client_trying_many_addresses_is_throttled(app, owner):
    """The attacker's address is throttled, not the accounts: the real owner still logs in from elsewhere."""
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for number in range(CLIENT_FREE):
        assert AuthActions(attacker).login(f"guess{number}@acme.test", "wrong password!").status_code == 401
    assert AuthActions(attacker).login("guess-more@acme.test", "wrong password!").status_code == 429
    assert AuthActions(attacker).login(owner["email"]).status_code == 429
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    assert AuthActions(colleague).login(owner["email"]).status_code == 302


def test_an_invited_account_answers_a_login_as_slowly_as_any_other(app, client, monkeypatch):
    """No password yet: the stand-in hash is still checked, so the timing does not tell the account apart."""
    import feedback.auth.views as views

    with app.app_context():
        create_user("ivy@acme.test", "Ivy Invited", "owner", None)
    checked = []
    real = views.check_password_hash
    monkeypatch.setattr(views, "check_password_hash", lambda *args: checked.append(args[0]) or real(*args))
    assert AuthActions(client).login("ivy@acme.test", "anything at all").status_code == 401
    assert checked == [views.unknown_user_hash()]


def test_a_successful_login_clears_failures(app, auth, owner):
    for _ in range(ACCOUNT_FREE - 1):
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
        assert session["_user_id"] == f"{owner['id']}:0"  # the id and the session generation


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


def test_a_deactivated_owners_open_action_items_go_to_the_colleague_too(app, client, logged_in_admin, owner,
                                                                       other_owner):  # fmt: skip
    """Items outlive the summary: a finished postmortem's open item would otherwise remind no one."""
    from feedback.actions.models import ActionItem
    from feedback.actions.operations import add_item, close_item
    from feedback.audit.models import AuditEvent

    case_id = log(app, owner["email"], customer_name="Summed Up", customer_email="summed@client.test")
    with app.app_context():
        cancellation = db.session.get(Cancellation, case_id)
        cancellation.state = "summarized"  # no open cancellation left: only the items keep the owner's work open
        open_id = add_item(cancellation, title="Fix the invoice PDF", due_on=utcnow().date() + timedelta(days=3)).id
        closed_id = add_item(cancellation, title="Call them back").id
        close_item(db.session.get(ActionItem, closed_id), "done")
        db.session.commit()
    page = client.get(STAFF)
    client.post(f"/admin/staff/{owner['id']}/deactivate", data={"csrf_token": csrf_token(page.text)})
    assert "Reassign open work" in client.get(STAFF).text

    form = client.get(f"/admin/staff/{owner['id']}/reassign")
    assert "Fix the invoice PDF" in form.text and "Call them back" not in form.text
    assert "Reassign 1 open action item" in form.text
    done = client.post(f"/admin/staff/{owner['id']}/reassign",
                       data={"csrf_token": csrf_token(form.text), "to_user": str(other_owner["id"])})  # fmt: skip
    assert done.status_code == 302
    assert "1 open action item reassigned to Oscar Other" in client.get(STAFF).text
    with app.app_context():
        assert db.session.get(ActionItem, open_id).owner_id == other_owner["id"]
        assert db.session.get(ActionItem, closed_id).owner_id == owner["id"]  # closed items stay with the closer
        events = [e.detail for e in db.session.get(Cancellation, case_id).events if e.kind == "action_reassigned"]
        assert events == ["Fix the invoice PDF is now Oscar Other's."]
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.reassign")).one()
        assert "0 open cancellations and 1 open action item" in audit.detail
    assert "Nothing to hand over" in client.get(f"/admin/staff/{owner['id']}/reassign").text


def test_reassigning_a_case_that_waits_for_contact_asks_for_one_review_once(app, smtp, owner, other_owner, admin):
    from feedback.auth.models import User
    from feedback.customers.contact import complete_contact
    from feedback.staff.operations import hand_over_open_work

    waiting = log(app, owner["email"], customer_name="", customer_email="", needs_contact=True)
    with app.app_context():
        from_user, to_user, acting = (db.session.get(User, p["id"]) for p in (owner, other_owner, admin))
        from_user.active = False
        assert hand_over_open_work(from_user, to_user, acting).cancellations == 1
        complete_contact(waiting, "Wanda Waiting", "wanda@client.test", acting)
        db.session.commit()
    deliver(app)
    requests = [m for m in smtp.to(other_owner["email"]) if "your review, please" in str(m["Subject"])]
    assert len(requests) == 1  # asked once, when the customer could be reached, not also at reassignment
    assert smtp.one("wanda@client.test")


def replay(client, cookie):
    """An attacker's copy of a session cookie, sent again."""
    client.set_cookie("session", cookie)
    return client.get("/cancellations/")


def test_a_session_cookie_replayed_after_logout_no_longer_works(app, client, auth, owner):
    auth.login(owner["email"])
    stolen = client.get_cookie("session").value
    assert replay(app.test_client(), stolen).status_code == 200  # the copy works while the session lasts
    auth.logout()
    assert replay(client, stolen).status_code == 302
    assert replay(app.test_client(), stolen).headers["Location"].startswith("/login")
    auth.login(owner["email"])  # a new session works, the old copy still does not
    assert client.get("/cancellations/").status_code == 200
    assert replay(app.test_client(), stolen).status_code == 302


def test_log_out_everywhere_ends_the_other_devices_sessions(app, client, auth, admin):
    phone = app.test_client()
    AuthActions(phone).login(admin["email"])
    auth.login(admin["email"])
    page = client.get(STAFF)
    assert "Log out everywhere" in page.text
    done = client.post("/logout/everywhere", data={"csrf_token": csrf_token(page.text)})
    assert done.headers["Location"] == "/login"
    assert "You are logged out on every device." in client.get("/login").text
    assert phone.get("/cancellations/").status_code == 302
    AuthActions(phone).login(admin["email"])
    assert client.post("/logout/everywhere", data={}).status_code == 400  # no CSRF token, nothing ends
    assert phone.get("/cancellations/").status_code == 200


def test_a_new_password_and_deactivation_end_sessions(app, client, auth, owner, admin):
    auth.login(owner["email"])
    with app.app_context():
        user = db.session.get(User, owner["id"])
        user.set_password("another long password")
        db.session.commit()
    assert client.get("/cancellations/").status_code == 302
    auth.login(owner["email"], "another long password")
    stolen = client.get_cookie("session").value
    with app.app_context():
        set_active(db.session.get(User, owner["id"]), False, db.session.get(User, admin["id"]))
        set_active(db.session.get(User, owner["id"]), True, db.session.get(User, admin["id"]))
        db.session.commit()
    assert replay(client, stolen).status_code == 302  # reactivated, but the old session stays ended


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="truly concurrent writers need PostgreSQL; CI runs it there")
def test_fifty_concurrent_guesses_check_at_most_the_free_ones(app, app_config, owner, monkeypatch):
    """Threads with their own sessions and connections, released together, all guessing wrong.

    None has the right password: a success clears the address's failures (the real user is in), after which the
    guesses still counting rightly start afresh. On a loaded machine the threads spread out enough for that to
    happen, so a right guess among them made this test fail now and then.
    """
    import feedback.auth.models as models

    checks = []
    real = models.check_password_hash
    monkeypatch.setattr(models, "check_password_hash", lambda *args: checks.append(1) or real(*args))

    def guess(client):
        return AuthActions(client).login(owner["email"], "wrong password!").status_code

    statuses = at_once(app_config, 50, guess)
    assert len(checks) <= ACCOUNT_FREE
    assert statuses.count(429) >= 50 - ACCOUNT_FREE
    assert statuses.count(401) == len(checks)
