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
    published = submit_form(client, "/admin/questions/exit-survey/publish", {"switch_off": ["de", "fr"]})
    assert published.status_code == 302
    event = the_event(app, "questions.publish")
    assert (event.actor, event.client_address, event.target_type) == (
        logged_in_admin["email"],
        WEB,
        "questionnaire_version",
    )
    assert "Published exit-survey version 2 with Deutsch, Français switched off." in event.detail


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
    submit_form(client, "/admin/tokens/", {"name": "CRM", "scopes": ["events:read"]})
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
    assert (every.actor, every.detail) == (logged_in_admin["email"], "Queued 1 failed message again.")


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
        "Imported 1 cancellation row from CSV.",
    )
    with app.app_context():
        # One row for the import as a whole, not one per cancellation it logged.
        assert db.session.scalars(select(AuditEvent.action)).all() == ["import"]


# --- Sign-ins, bulk exports, and the day-to-day actions (issue 31, item 21) ---------------------------------

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        rows = list(found)
        for row in rows:
            db.session.expunge(row)
        return rows


def test_sign_ins_and_failed_ones_with_the_address_and_browser(app, client, auth, owner):
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    assert auth.login(owner["email"], "not the password!").status_code == 401
    assert auth.login("stranger@else.test", "whatever it is").status_code == 401
    assert auth.login(owner["email"]).status_code == 302
    wrong, unknown = events(app, "staff.sign_in_failed")
    assert (wrong.actor, wrong.actor_id, wrong.client_address) == ("anonymous", None, WEB)
    assert (wrong.target_type, wrong.target_id) == ("user", str(owner["id"]))
    assert "Wrong password." in wrong.detail and BROWSER in wrong.detail
    assert (unknown.target_type, unknown.target_id) == ("", "")
    assert "No staff member has this address." in unknown.detail and "stranger" not in unknown.detail
    signed_in = the_event(app, "staff.sign_in")
    assert (signed_in.actor, signed_in.actor_id, signed_in.client_address) == (owner["email"], owner["id"], WEB)
    assert "with a password" in signed_in.detail and BROWSER in signed_in.detail


def test_both_csv_exports_of_personal_data(app, client, logged_in_admin, owner):
    log(app, owner["email"])
    assert client.get("/cancellations/export.csv?state=logged").status_code == 200
    event = the_event(app, "cancellations.export")
    assert (event.actor, event.client_address) == (logged_in_admin["email"], WEB)
    assert event.detail == "Exported 1 cancellation as CSV (state logged)."
    insights = client.get("/insights/export.csv?plan=Team")
    assert insights.status_code == 200 and insights.text
    event = the_event(app, "insights.export")
    assert event.actor == logged_in_admin["email"] and "plan=Team" in event.detail


def test_action_item_changes(app, client, logged_in_admin, owner):
    cancellation_id = log(app, owner["email"])
    form = {"title": "Yearly plan", "owner_email": owner["email"], "due_on": "2027-01-15", "reason": "",
            "ticket_url": ""}  # fmt: skip
    assert submit_form(client, f"/actions/new/{cancellation_id}", form).status_code == 302
    added = the_event(app, "action_item.add")
    assert (added.actor, added.target_type, added.client_address) == (logged_in_admin["email"], "action_item", WEB)
    item_id = added.target_id
    assert submit_form(client, f"/actions/{item_id}/edit", {**form, "due_on": "2027-02-01"}).status_code == 302
    assert the_event(app, "action_item.update").detail == "Changed due_on."
    token = csrf_token(client.get(f"/actions/{item_id}/edit").text)
    client.post(f"/actions/{item_id}/close", data={"csrf_token": token, "status": "done", "note": ""})
    assert the_event(app, "action_item.close").detail == "Now done."
    client.post(f"/actions/{item_id}/reopen", data={"csrf_token": token})
    assert (the_event(app, "action_item.reopen").target_id, the_event(app, "action_item.reopen").detail) == (
        item_id,
        "Now open.",
    )


def test_win_back_decisions_and_referral_marks(app, client, auth, smtp, owner):
    from test_winback import answer_survey, done_change

    from feedback.surveys.models import SurveyResponse

    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp, better_fit_referral="Dana at Bright Bakery")
    told, skipped = done_change(app, cancellation_id, "First change"), done_change(app, cancellation_id, "Second")
    auth.login(owner["email"])
    path = f"/win-back/{cancellation_id}/tell/{told}"
    token = csrf_token(client.get(path).text)
    assert client.post(path, data={"csrf_token": token, "subject": "News", "body": "We changed it."}).status_code == 302
    assert client.post(f"/win-back/{cancellation_id}/skip/{skipped}", data={"csrf_token": token}).status_code == 302
    tell, skip = the_event(app, "winback.tell"), the_event(app, "winback.skip")
    assert (tell.actor, tell.target_type, tell.client_address) == (owner["email"], "winback_notice", WEB)
    assert f"action item {told}" in tell.detail and f"action item {skipped}" in skip.detail
    assert "We changed it" not in tell.detail

    with app.app_context():
        response_id = db.session.scalars(select(SurveyResponse.id)).one()
    client.post(f"/win-back/referrals/{response_id}", data={"csrf_token": token, "contacted": "y"})
    client.post(f"/win-back/referrals/{response_id}", data={"csrf_token": token})
    mark, unmark = the_event(app, "referral.mark"), the_event(app, "referral.unmark")
    assert (mark.actor, mark.target_type, mark.target_id) == (owner["email"], "survey_response", str(response_id))
    assert unmark.actor == owner["email"] and "Dana" not in mark.detail + unmark.detail


def test_inbound_attach_and_discard(app, client, logged_in_admin, owner):
    from feedback.inbound.operations import process_and_commit, store_message

    cancellation_id = log(app, owner["email"])
    ids = []
    with app.app_context():
        for number in (1, 2):
            raw = f"From: n{number}@else.test\r\nMessage-ID: <{number}@else.test>\r\nSubject: Hi\r\n\r\nHello".encode()
            message, _ = store_message(raw, "pipe")
            process_and_commit(message.id)
            ids.append(message.id)
    token = csrf_token(client.get(f"/admin/inbound/{ids[0]}").text)
    client.post(f"/admin/inbound/{ids[0]}/attach", data={"csrf_token": token, "cancellation_id": cancellation_id})
    client.post(f"/admin/inbound/{ids[1]}/discard", data={"csrf_token": token})
    attach, discard = the_event(app, "inbound.attach"), the_event(app, "inbound.discard")
    assert (attach.actor, attach.target_type, attach.target_id) == (
        logged_in_admin["email"],
        "inbound_message",
        str(ids[0]),
    )
    assert attach.detail == f"Attached by hand to cancellation {cancellation_id}."
    assert (discard.target_id, discard.detail, discard.client_address) == (
        str(ids[1]),
        "Discarded (it was unmatched).",
        WEB,
    )


def test_question_draft_edits(app, client, logged_in_admin):
    fields = {"type": "short_text", "prompt": "Which plan were you on?", "help": "", "choices": "", "key": "",
              "show_if": ""}  # fmt: skip
    assert submit_form(client, "/admin/questions/exit-survey/new", fields).status_code == 302
    saved = the_event(app, "questions.draft_save")
    assert (saved.actor, saved.target_type, saved.target_id) == (
        logged_in_admin["email"],
        "questionnaire",
        "exit-survey",
    )
    assert submit_form(client, "/admin/questions/exit-survey/discard", {}).status_code == 302
    assert the_event(app, "questions.draft_discard").detail == "Discarded the draft."
