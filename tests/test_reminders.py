"""One gentle reminder after SURVEY_REMINDER_DAYS, never after an answer, an opt-out or expiry, never twice."""

from __future__ import annotations

from datetime import timedelta

from conftest import deliver, link_in, log, make_config, run_jobs, submit_form
from sqlalchemy import select

from feedback import create_app
from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation


def reminders(smtp, address="casey@client.test"):
    return [m for m in smtp.to(address) if "gentle reminder" in str(m["Subject"])]


def invite(app, smtp, owner, **fields) -> int:
    cancellation_id = log(app, owner["email"], **fields)
    deliver(app)
    assert len(smtp.to(fields.get("customer_email", "casey@client.test"))) == 1
    return cancellation_id


def test_one_reminder_after_the_set_days_and_never_a_second(app, smtp, owner):
    cancellation_id = invite(app, smtp, owner)
    run_jobs(app, now=utcnow() + timedelta(days=3, hours=23))
    assert deliver(app, now=utcnow() + timedelta(days=3, hours=23)).sent == 0
    assert reminders(smtp) == []

    jobs = run_jobs(app, now=utcnow() + timedelta(days=4, minutes=1))
    report = deliver(app, now=utcnow() + timedelta(days=4, minutes=1))
    assert (jobs["surveys.queue-reminders"], report.sent) == ("1 reminder queued", 1)
    reminder = reminders(smtp)[0]
    assert "Hello again, Casey." in reminder.get_body(("plain",)).get_content()
    assert link_in(reminder).startswith("http://localhost/s/")
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert reminder["Reply-To"] == owner["email"]

    run_jobs(app, now=utcnow() + timedelta(days=6))
    deliver(app, now=utcnow() + timedelta(days=6))
    run_jobs(app, now=utcnow() + timedelta(days=12))
    deliver(app, now=utcnow() + timedelta(days=12))
    assert len(reminders(smtp)) == 1
    with app.app_context():
        events = [e.detail for e in db.session.get(Cancellation, cancellation_id).events]
    assert any("gentle reminder was queued" in detail for detail in events)
    assert "Survey reminder sent to casey@client.test." in events


def test_no_reminder_after_an_answer(app, client, smtp, owner):
    invite(app, smtp, owner)
    path = link_in(smtp.one("casey@client.test")).removeprefix("http://localhost")
    assert submit_form(client, path, {"main_reason": "Something else"}).status_code == 303
    run_jobs(app, now=utcnow() + timedelta(days=5))
    deliver(app, now=utcnow() + timedelta(days=5))
    assert reminders(smtp) == []


def test_a_reminder_queued_before_the_answer_is_not_sent_after_it(app, client, smtp, owner):
    from feedback.surveys.operations import queue_due_reminders

    invite(app, smtp, owner)
    with app.app_context():
        assert queue_due_reminders(utcnow() + timedelta(days=5)) == 1
    path = link_in(smtp.one("casey@client.test")).removeprefix("http://localhost")
    submit_form(client, path, {"main_reason": "Something else"})
    run_jobs(app, now=utcnow() + timedelta(days=5))
    report = deliver(app, now=utcnow() + timedelta(days=5))
    assert report.skipped == 1
    assert reminders(smtp) == []
    with app.app_context():
        skipped = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "survey_reminder")).one()
        assert skipped.status == "skipped" and "answered" in skipped.last_error


def test_no_reminder_after_an_opt_out(app, smtp, owner):
    from feedback.mail.suppression import suppress

    invite(app, smtp, owner)
    with app.app_context():
        suppress("casey@client.test", source="link")
        db.session.commit()
    run_jobs(app, now=utcnow() + timedelta(days=5))
    deliver(app, now=utcnow() + timedelta(days=5))
    assert reminders(smtp) == []


def test_no_reminder_after_the_link_expired(database_url, smtp, owner):
    short = create_app(make_config(database_url, smtp, SURVEY_LINK_DAYS=3))
    invite(short, smtp, owner)
    run_jobs(short, now=utcnow() + timedelta(days=5))
    deliver(short, now=utcnow() + timedelta(days=5))
    assert reminders(smtp) == []


def test_zero_days_turns_reminders_off(database_url, smtp, owner):
    off = create_app(make_config(database_url, smtp, SURVEY_REMINDER_DAYS=0))
    invite(off, smtp, owner)
    assert run_jobs(off, now=utcnow() + timedelta(days=20))["surveys.queue-reminders"] == ""
    deliver(off, now=utcnow() + timedelta(days=20))
    assert reminders(smtp) == []


def test_the_reminder_days_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from feedback.config import from_environment

    monkeypatch.delenv("SURVEY_REMINDER_DAYS", raising=False)
    assert from_environment(str(tmp_path))["SURVEY_REMINDER_DAYS"] == 4
    monkeypatch.setenv("SURVEY_REMINDER_DAYS", "0")
    assert from_environment(str(tmp_path))["SURVEY_REMINDER_DAYS"] == 0
