from __future__ import annotations

from sqlalchemy import func, select

from feedback.extensions import db
from feedback.postmortem.models import Cancellation


def test_demo_loads_every_state_once(app, runner, smtp, auth, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Log in as admin@example.com" in first.output
    again = runner.invoke(args=["demo"])
    assert "already loaded" in again.output
    with app.app_context():
        states = set(db.session.scalars(select(Cancellation.state)))
        assert {"summarized", "answered", "logged"} <= states
        assert db.session.scalar(select(func.count()).select_from(Cancellation)) == 7
    # Past mail counts as sent and never reaches a real server; only the newest cancellation's mail is queued.
    result = runner.invoke(args=["outbox", "send"])
    assert "sent 2" in result.output
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        ["Grace Okafor <grace@lagos-studio.example>", "Maya Patel <admin@example.com>"]
    )
    assert auth.login("admin@example.com", "farewell-demo").status_code == 302
    assert "Elena Rossi" in client.get("/cancellations/").text


def test_demo_reviews_leave_action_items_to_follow_up(app, runner, auth, client):
    """Each line of a demo review's "What must change?" is an item, as on the review page; the old ones are overdue."""
    from feedback.actions.models import ActionItem
    from feedback.db import utcnow

    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        items = db.session.scalars(select(ActionItem).order_by(ActionItem.id)).all()
        assert [(item.title, item.status) for item in items][:2] == [
            ("Call every account 60 days before a price change", "done"),
            ("Offer a downgrade path before renewal", "open"),
        ]
        assert len(items) == 5 and "None for this account" not in {item.title for item in items}
        today = utcnow().date()
        assert all(item.due_on < today for item in items if item.status == "open")  # 30 days after old reviews
        assert all(item.created_at < item.closed_at for item in items if item.closed_at)
    auth.login("admin@example.com", "farewell-demo")
    page = client.get("/actions/", query_string={"owner": "all"}).text
    assert "Offer a downgrade path before renewal" in page and "Publish an SSO timeline" in page


def test_demo_data_reads_like_a_real_company(app, runner, smtp, client):
    from conftest import link_in

    from feedback.settings.operations import accent_problem, current_settings

    app.config["COMPANY_NAME"] = "Farewell"  # the default, as on a fresh `make run`
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        settings = current_settings()
    assert settings.company_name == "Loomwork" and accent_problem(settings.accent_color) is None
    logo = client.get(settings.logo_url)  # served from this server
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"

    runner.invoke(args=["outbox", "send"])
    invitation = smtp.one("grace@lagos-studio.example")
    assert "Loomwork" in str(invitation["Subject"]) and "Farewell" not in str(invitation["From"])
    survey = client.get(link_in(invitation).removeprefix("http://localhost")).text
    assert f'<img class="customer-logo" src="{settings.logo_url}" alt="Loomwork"' in survey
    assert f"--accent: {settings.accent_color}" in survey
    assert "Farewell" not in survey.split("<body", 1)[1]  # the customer never reads the tool's name


def test_bulk_demo_data_never_changes_what_real_customers_are_asked(app, runner, owner):
    from conftest import log

    from feedback.questions.operations import live_version, question_spec

    log(app, owner["email"], customer_email="real@client.test")  # a real postmortem
    with app.app_context():
        asked = [question_spec(q) for q in live_version("exit-survey").questions]
    refused = runner.invoke(args=["demo", "--bulk", "5"])
    assert refused.exit_code != 0 and "holds 1 real postmortem;" in refused.output and "--force" in refused.output
    forced = runner.invoke(args=["demo", "--bulk", "5", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "Adds 5 generated cancellations" in forced.output and "amara@bulk.example" in forced.output
    with app.app_context():
        assert [question_spec(q) for q in live_version("exit-survey").questions] == asked
