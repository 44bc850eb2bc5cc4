"""PUT /api/v1/customers/{id}/conversations/{external_id}: any other help desk, idempotent (issue 26, item 1)."""

from __future__ import annotations

import pytest
from conftest import log
from sqlalchemy import func, select

from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.helpdesk.models import Conversation
from feedback.postmortem.models import Cancellation

BODY = {
    "url": "https://app.intercom.test/a/inbox/conversation/991",
    "subject": "Where did my <em>reports</em> go?",
    "status": "closed",
    "channel": "chat",
    "opened_at": "2026-11-20T10:00:00Z",
    "solved_at": "2026-11-21T10:00:00+01:00",
    "replies": 4,
    "satisfaction": "bad",
    "tags": ["reports"],
    "opening_message": "<p>Hi,</p><p>my reports are gone.</p><script>x()</script>",
}


@pytest.fixture
def api(app):
    with app.app_context():
        token = create_token("Intercom bridge")[1]
        db.session.commit()
    client = app.test_client()
    return lambda path, body: client.put(path, json=body, headers={"Authorization": f"Bearer {token}"})


def customer_of(app, cancellation_id: int) -> int:
    with app.app_context():
        return db.session.get(Cancellation, cancellation_id).customer_id


def test_put_creates_then_the_same_put_changes_nothing(app, owner, api, client, auth):
    cancellation_id = log(app, owner["email"])
    path = f"/api/v1/customers/{customer_of(app, cancellation_id)}/conversations/991"
    first = api(path, BODY)
    assert first.status_code == 201, first.text
    assert first.json["opening_message"] == "Hi,\n\nmy reports are gone."
    assert first.json["solved_at"] == "2026-11-21T09:00:00Z"
    assert first.json["help_desk"] == "api" and first.json["external_id"] == "991"
    again = api(path, BODY)
    assert (again.status_code, again.json) == (200, first.json)
    changed = api(path, {**BODY, "status": "open", "replies": 5})
    assert (changed.status_code, changed.json["status"], changed.json["replies"]) == (200, "open", 5)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
    auth.login(owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}/review").text
    assert "Where did my &lt;em&gt;reports&lt;/em&gt; go?" in page and "The likely final straw" in page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "javascript:alert(1)"}, "url"),
        ({"opened_at": "yesterday"}, "opened_at"),
        ({"replies": -1}, "replies"),
        ({"tags": "reports"}, "tags"),
        ({"subject": "x" * 501}, "subject"),
        ({"opened_by_customer": "yes"}, "opened_by_customer"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_saved(app, owner, api, change, field):
    customer_id = customer_of(app, log(app, owner["email"]))
    answer = api(f"/api/v1/customers/{customer_id}/conversations/991", {**BODY, **change})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert [e["field"] for e in answer.json["errors"]] == [field]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_an_unknown_customer_is_a_404(app, owner, api):
    answer = api("/api/v1/customers/4242/conversations/1", BODY)
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_without_opened_at_nothing_is_saved(app, owner, api):
    customer_id = customer_of(app, log(app, owner["email"]))
    body = {k: v for k, v in BODY.items() if k != "opened_at"}
    answer = api(f"/api/v1/customers/{customer_id}/conversations/991", body)
    assert answer.status_code == 422 and [e["field"] for e in answer.json["errors"]] == ["opened_at"]
