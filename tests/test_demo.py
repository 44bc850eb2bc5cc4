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
