"""Every staff action the audit trail promises is a row: who, when, what, on which record, from which address.

One test per kind of action (log, review, publish questions, invite, deactivate, change a role, settings, tokens,
resend, import); export and erase are in tests/test_privacy.py, the role change's last-admin rule in test_audit.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import csrf_token, deliver, log, submit_form
from sqlalchemy import select

from feedback.audit.models import AuditEvent
from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage

WEB = "127.0.0.1"  # the test client's address


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def the_event(app, action: str) -> AuditEvent:
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        assert event.at is not None and utcnow() - event.at < timedelta(minutes=1)
        db.session.expunge(event)
        return event


def test_logging_a_cancellation_on_the_web(app, client, logged_in_admin):
    page = client.get("/cancellations/new")
    form = {"customer_name": "Kim Kale", "customer_email": "kim@client.test", "owner_email": logged_in_admin["email"]}
    client.post("/cancellations/new", data={"csrf_token": csrf_token(page.text), **form})
    event = the_event(app, "cancellation.log")
    assert (event.actor, event.actor_id, event.client_address) == (logged_in_admin["email"], logged_in_admin["id"], WEB)
    assert (event.target_type, event.target_id) == ("cancellation", "1") and "web form" in event.detail


def test_a_review(app, client, logged_in_admin, owner):
    cancellation_id = log(app, owner["email"])
    review = {"this_week": "They left after the outage.", "relationship_history": "Three escalations.",
              "action_items": "Post-incident call", "icp_fit": "Yes, a good fit", "avoidable": "Maybe"}  # fmt: skip
    assert submit_form(client, f"/cancellations/{cancellation_id}/review", review).status_code == 302
    event = the_event(app, "review.submit")
    assert (event.actor, event.client_address) == (logged_in_admin["email"], WEB)
    assert (event.target_type, event.target_id) == ("cancellation", str(cancellation_id))


def test_publishing_questions(app, client, logged_in_admin):
    fields = {"type": "short_text", "prompt": "Which plan were you on?", "help": "", "choices": "", "key": "",
              "show_if": ""}  # fmt: skip
    assert submit_form(client, "/admin/questions/exit-survey/new", fields).status_code == 302
    assert submit_form(client, "/admin/questions/exit-survey/publish", {}).status_code == 302
    event = the_event(app, "questions.publish")
    assert (event.actor, event.client_address, event.target_type) == (
        logged_in_admin["email"],
        WEB,
        "questionnaire_version",
    )
    assert "Published exit-survey version 2" in event.detail


def test_inviting_resending_and_deactivating_a_colleague(app, client, logged_in_admin):
    submit_form(client, "/admin/staff/", {"name": "Nina New", "email": "nina@acme.test", "role": "owner"})
    invited = the_event(app, "staff.invite")
    assert (invited.actor, invited.client_address, invited.target_type) == (logged_in_admin["email"], WEB, "user")
    assert invited.detail == "Invited nina@acme.test as owner."
    page = client.get("/admin/staff/").text
    client.post(f"/admin/staff/{invited.target_id}/resend", data={"csrf_token": csrf_token(page)})
    assert the_event(app, "staff.resend_invitation").target_id == invited.target_id
    client.post(f"/admin/staff/{invited.target_id}/deactivate", data={"csrf_token": csrf_token(page)})
    deactivated = the_event(app, "staff.deactivate")
    assert (deactivated.actor, deactivated.target_id, deactivated.detail) == (
        logged_in_admin["email"], invited.target_id, "nina@acme.test."
    )  # fmt: skip


def test_changing_a_role(app, client, logged_in_admin, owner):
    page = client.get("/admin/staff/").text
    client.post(f"/admin/staff/{owner['id']}/role", data={"csrf_token": csrf_token(page), "role": "admin"})
    event = the_event(app, "staff.role")
    assert (event.actor, event.client_address, event.target_id) == (logged_in_admin["email"], WEB, str(owner["id"]))
    assert "owner → admin" in event.detail


def test_saving_settings(app, client, logged_in_admin):
    submit_form(client, "/admin/settings/", {"company_name": "Acme Two"})
    event = the_event(app, "settings.save")
    assert (event.actor, event.client_address, event.target_type) == (logged_in_admin["email"], WEB, "settings")
    assert "company_name" in event.detail


def test_creating_and_revoking_a_token(app, client, logged_in_admin):
    submit_form(client, "/admin/tokens/", {"name": "CRM"})
    created = the_event(app, "token.create")
    assert (created.actor, created.client_address) == (logged_in_admin["email"], WEB) and "'CRM'" in created.detail
    page = client.get("/admin/tokens/").text
    client.post(f"/admin/tokens/{created.target_id}/revoke", data={"csrf_token": csrf_token(page)})
    revoked = the_event(app, "token.revoke")
    assert (revoked.actor, revoked.target_id) == (logged_in_admin["email"], created.target_id)


def test_resending_an_email(app, client, smtp, owner, logged_in_admin):
    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    deliver(app)
    smtp.rejected.clear()
    with app.app_context():
        failed = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "failed"))
    page = client.get(f"/admin/email/{failed}").text
    client.post(f"/admin/email/{failed}/resend", data={"csrf_token": csrf_token(page)})
    event = the_event(app, "email.resend")
    assert (event.actor, event.client_address) == (logged_in_admin["email"], WEB)
    assert (event.target_type, event.target_id) == ("outbox_message", str(failed))
    smtp.rejected.add("gone@client.test")
    deliver(app)  # fails again; the email log's "Resend all failed" button
    client.post("/admin/email/resend-failed", data={"csrf_token": csrf_token(client.get("/admin/email/").text)})
    every = the_event(app, "email.resend_failed")
    assert (every.actor, every.detail) == (logged_in_admin["email"], "Queued 1 failed message(s) again.")


def test_an_import(app, runner, owner, tmp_path):
    rows = tmp_path / "cancellations.csv"
    rows.write_text(
        "external_id,name,email,company,plan,mrr,customer_since,owner_email,locale,reason,complaint,cancelled_at,"
        f"feedback,comment\ncus_1,Ann Able,ann@able.test,Able Co,Team,49.00,2024-01-02,{owner['email']},en,Budget,,"
        "2026-11-01T10:00:00Z,too_expensive,\n"
    )
    assert runner.invoke(args=["cancellations", "import", str(rows)]).exit_code == 0
    event = the_event(app, "import")
    assert (event.actor, event.target_type, event.detail) == (
        "command line",
        "import",
        "Imported 1 cancellations row(s) from CSV.",
    )
    with app.app_context():
        # One row for the import as a whole, not one per cancellation it logged.
        assert db.session.scalars(select(AuditEvent.action)).all() == ["import"]
