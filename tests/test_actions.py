"""Action items: written in the review and afterwards, closed and reopened, reminded of and digested exactly once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from conftest import csrf_token, deliver, log, submit_form, text_part
from sqlalchemy import select

from feedback.actions.jobs import remind_due_items, send_weekly_digests
from feedback.actions.models import ActionDigest, ActionItem, ActionReminder
from feedback.actions.operations import add_item, close_item
from feedback.api.tokens import create_token
from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation

REVIEW = {
    "this_week": "They left after the outage.",
    "relationship_history": "Three escalations since June.",
    "icp_fit": "Yes, a good fit",
    "avoidable": "Maybe",
}


def review_with_rows(client, cancellation_id, *rows, **extra):
    data = {**REVIEW, **extra}
    for n, row in enumerate(rows):
        data.update({f"items-rows-{n}-{name}": value for name, value in row.items()})
    return submit_form(client, f"/cancellations/{cancellation_id}/review", data)


def items(app, cancellation_id=None):
    with app.app_context():
        query = select(ActionItem).order_by(ActionItem.id)
        if cancellation_id is not None:
            query = query.where(ActionItem.cancellation_id == cancellation_id)
        return [
            {"id": i.id, "title": i.title, "owner": i.owner.email, "due_on": i.due_on, "status": i.status,
             "reason": i.reason, "note": i.note, "closed_at": i.closed_at, "source": i.source}
            for i in db.session.scalars(query)
        ]  # fmt: skip


def make_item(app, cancellation_id, due_on, title="Offer a yearly plan", **fields):
    with app.app_context():
        item = add_item(db.session.get(Cancellation, cancellation_id), title=title, due_on=due_on, **fields)
        db.session.commit()
        return item.id


# --- Written in the review, and afterwards -------------------------------------------------------------


def test_the_review_asks_for_items_in_rows_with_the_owner_and_thirty_days_filled_in(
    app, client, logged_in_owner, other_owner
):
    cancellation_id = log(app, logged_in_owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}/review").text
    assert 'name="items-rows-2-title"' in page and 'name="items-rows-3-title"' not in page
    assert 'name="action_items"' not in page  # the paragraph is gone: each change is an item
    in_thirty_days = (utcnow().date() + timedelta(days=30)).isoformat()
    assert f'value="{in_thirty_days}"' in page

    response = review_with_rows(
        client,
        cancellation_id,
        {"title": "Call within a day of an outage", "owner_email": logged_in_owner["email"], "due_on": in_thirty_days},
        {"title": "Offer a smaller plan", "owner_email": other_owner["email"], "due_on": "2027-01-15",
         "reason": "It was too expensive for us"},
        {"title": "", "owner_email": logged_in_owner["email"], "due_on": in_thirty_days},
    )  # fmt: skip
    assert response.status_code == 302
    written = items(app, cancellation_id)
    assert [(i["title"], i["owner"], i["due_on"], i["reason"], i["source"]) for i in written] == [
        ("Call within a day of an outage", logged_in_owner["email"], date.fromisoformat(in_thirty_days), "", "review"),
        ("Offer a smaller plan", other_owner["email"], date(2027, 1, 15), "It was too expensive for us", "review"),
    ]
    detail = client.get(f"/cancellations/{cancellation_id}").text
    assert "Offer a smaller plan" in detail and "Oscar Other" in detail
    assert "Action item for Oscar Other, due 15 Jan 2027: Offer a smaller plan" in detail  # the timeline


def test_the_insights_export_holds_the_items_written_in_the_review_rows(app, client, logged_in_owner):
    """Issue 24 item 9: the rows are the review's answer to "What must change?", so the export carries them."""
    cancellation_id = log(app, logged_in_owner["email"])
    due = (utcnow().date() + timedelta(days=30)).isoformat()
    written = review_with_rows(
        client,
        cancellation_id,
        {"title": "Call within a day of an outage", "owner_email": logged_in_owner["email"], "due_on": due},
        {"title": "=Offer a smaller plan", "owner_email": logged_in_owner["email"], "due_on": due},
    )
    assert written.status_code == 302
    make_item(app, cancellation_id, None, title="Added later on the page")  # not part of the review
    today = utcnow().date()
    span = {"since": (today - timedelta(days=2)).isoformat(), "until": (today + timedelta(days=1)).isoformat()}
    rows = list(csv.DictReader(io.StringIO(client.get("/insights/export.csv", query_string=span).text)))
    assert [row["review.action_items"] for row in rows] == ["Call within a day of an outage\n=Offer a smaller plan"]


def test_more_rows_without_javascript_keep_what_was_typed(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    path = f"/cancellations/{cancellation_id}/review"
    token = csrf_token(client.get(path).text)
    data = {**REVIEW, "csrf_token": token, "items-rows-0-title": "Kept", "items-more": "1"}
    for n in range(3):
        data[f"items-rows-{n}-owner_email"] = logged_in_owner["email"]
    page = client.post(path, data=data)
    assert page.status_code == 200
    assert 'name="items-rows-5-title"' in page.text and 'value="Kept"' in page.text
    assert "Three escalations since June." in page.text and "Please answer" not in page.text
    assert items(app) == []


def test_what_must_change_is_required_and_a_bad_row_is_named(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    none = review_with_rows(client, cancellation_id, {"title": "", "owner_email": logged_in_owner["email"]})
    assert none.status_code == 422
    assert "Add at least one action item" in none.text
    bad_owner = review_with_rows(client, cancellation_id, {"title": "Ship it", "owner_email": "ghost@acme.test"})
    assert bad_owner.status_code == 422
    assert "Choose an active staff member as the owner." in bad_owner.text
    assert items(app) == []


def test_a_paragraph_sent_by_an_older_page_becomes_one_item_per_line(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    response = submit_form(
        client, f"/cancellations/{cancellation_id}/review", {**REVIEW, "action_items": "One\n\n Two "}
    )
    assert response.status_code == 302
    assert [i["title"] for i in items(app, cancellation_id)] == ["One", "Two"]


def test_items_added_afterwards_on_the_postmortem_page(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    path = f"/actions/new/{cancellation_id}"
    form = client.get(path).text
    assert "What must change</label>" in form and "(optional)" not in form.split('for="title"')[1].split("</label>")[0]
    bad = submit_form(client, path, {"title": "Ticket it", "owner_email": logged_in_owner["email"],
                                     "ticket_url": "http://tracker.test/1"})  # fmt: skip
    assert bad.status_code == 422
    assert "https:// address" in bad.text
    ticket = "https://linear.app/acme/issue/ACM-7"
    good = submit_form(client, path, {"title": "Ticket it", "owner_email": logged_in_owner["email"],
                                      "due_on": "2027-02-01", "ticket_url": ticket})  # fmt: skip
    assert good.status_code == 302
    detail = client.get(good.headers["Location"]).text
    assert "Ticket it" in detail and 'href="https://linear.app/acme/issue/ACM-7"' in detail


def test_close_with_a_note_then_reopen(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    item_id = make_item(app, cancellation_id, date(2027, 1, 1))
    detail = client.get(f"/cancellations/{cancellation_id}").text
    token = csrf_token(detail)
    closed = client.post(f"/actions/{item_id}/close", data={"csrf_token": token, "status": "done", "note": "Live"})
    assert closed.status_code == 302
    [item] = items(app)
    assert (item["status"], item["note"]) == ("done", "Live") and item["closed_at"] is not None
    page = client.get(f"/cancellations/{cancellation_id}").text
    assert "Done by Olivia Owner: Offer a yearly plan (Live)" in page
    assert client.post(f"/actions/{item_id}/reopen", data={"csrf_token": token}).status_code == 302
    [item] = items(app)
    assert (item["status"], item["closed_at"]) == ("open", None)
    assert "Action item reopened by Olivia Owner" in client.get(f"/cancellations/{cancellation_id}").text


def test_another_owner_can_neither_close_nor_edit(app, client, auth, owner, other_owner):
    cancellation_id = log(app, owner["email"])
    item_id = make_item(app, cancellation_id, date(2027, 1, 1))
    auth.login(other_owner["email"])
    token = csrf_token(client.get("/actions/").text)
    assert client.post(f"/actions/{item_id}/close", data={"csrf_token": token, "status": "done"}).status_code == 403
    assert client.get(f"/actions/{item_id}/edit").status_code == 403


def test_the_list_filters_shows_overdue_and_puts_mine_first(app, client, logged_in_owner, other_owner):
    mine = log(app, logged_in_owner["email"], customer_email="a@client.test")
    theirs = log(app, other_owner["email"], customer_email="b@client.test")
    today = utcnow().date()
    make_item(app, theirs, today + timedelta(days=1), title="Theirs, due sooner")
    make_item(app, mine, today - timedelta(days=3), title="Mine, overdue", reason="It was too expensive for us")
    make_item(app, mine, today + timedelta(days=9), title="Mine, later")
    page = client.get("/actions/").text
    assert page.index("Mine, overdue") < page.index("Mine, later") < page.index("Theirs, due sooner")
    assert "Overdue</strong> by 3 days" in page
    overdue = client.get("/actions/?view=overdue").text
    assert "Mine, overdue" in overdue and "Mine, later" not in overdue
    theirs_only = client.get(f"/actions/?owner={other_owner['email']}").text
    assert "Theirs, due sooner" in theirs_only and "Mine, later" not in theirs_only
    by_reason = client.get("/actions/?reason=It+was+too+expensive+for+us").text
    assert "Mine, overdue" in by_reason and "Mine, later" not in by_reason
    assert "Nothing here" in client.get("/actions/?view=done").text


def test_the_list_pages(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    for n in range(27):
        make_item(app, cancellation_id, date(2027, 1, 1) + timedelta(days=n), title=f"Item {n:02}")
    first = client.get("/actions/").text
    assert "Item 24" in first and "Item 25" not in first and "Page 1 of 2" in first
    assert "Item 26" in client.get("/actions/?page=2").text


def test_the_summary_lists_the_items(app, client, smtp, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    with app.app_context():
        invitation = db.session.get(Cancellation, cancellation_id).invitation
        from feedback.surveys.operations import submit_survey

        submit_survey(invitation, {"main_reason": "It was too expensive for us"})
        db.session.commit()
    review_with_rows(client, cancellation_id, {"title": "Offer a smaller plan", "owner_email": logged_in_owner["email"],
                                               "due_on": "2027-01-15"})  # fmt: skip
    deliver(app)
    summary = smtp.one(logged_in_owner["email"], "Summary")
    body = text_part(summary).replace("\r\n", "\n")
    assert "WHAT MUST CHANGE\n-------------------------\n- Offer a smaller plan (Olivia Owner, due 15 Jan 2027)" in body
    page = client.get(f"/cancellations/{cancellation_id}/summary").text
    assert "Offer a smaller plan" in page and "It was too expensive for us" in page


# --- Reminders and digests (clock injected) ------------------------------------------------------------


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_one_reminder_two_days_before_and_one_when_overdue_never_twice(app, smtp, owner):
    cancellation_id = log(app, owner["email"])
    due = utcnow().date() + timedelta(days=10)
    make_item(app, cancellation_id, due)
    deliver(app)
    smtp.clear()
    with app.app_context():
        assert remind_due_items(at(due - timedelta(days=3))) == ""
        assert remind_due_items(at(due - timedelta(days=2))) == "1 action item reminder queued"
        assert remind_due_items(at(due - timedelta(days=2), 15)) == ""
        assert remind_due_items(at(due - timedelta(days=1))) == ""
        assert remind_due_items(at(due)) == ""
    deliver(app, now=at(due + timedelta(days=5)))
    reminder = smtp.one(owner["email"], "Due in 2 days: Offer a yearly plan")
    assert "Mark it done" in text_part(reminder)
    assert reminder["List-Unsubscribe"] is None  # staff mail
    with app.app_context():
        assert remind_due_items(at(due + timedelta(days=1))) == "1 action item reminder queued"
        assert remind_due_items(at(due + timedelta(days=2))) == ""
        assert remind_due_items(at(due + timedelta(days=30))) == ""
        kinds = db.session.scalars(select(ActionReminder.kind).order_by(ActionReminder.id)).all()
    assert kinds == ["due_soon", "overdue"]
    deliver(app, now=at(due + timedelta(days=5)))
    assert "was due" in text_part(smtp.one(owner["email"], "Overdue: Offer a yearly plan"))


def test_no_reminder_once_closed_even_one_already_queued(app, smtp, owner):
    cancellation_id = log(app, owner["email"])
    due = utcnow().date() + timedelta(days=10)
    closed_first = make_item(app, cancellation_id, due, title="Closed first")
    closed_later = make_item(app, cancellation_id, due, title="Closed after queueing")
    with app.app_context():
        close_item(db.session.get(ActionItem, closed_first), "not_doing", "Out of scope")
        db.session.commit()
        assert remind_due_items(at(due - timedelta(days=2))) == "1 action item reminder queued"
        close_item(db.session.get(ActionItem, closed_later), "done")
        db.session.commit()
        assert remind_due_items(at(due + timedelta(days=1))) == ""
    deliver(app, now=at(due + timedelta(days=2)))
    assert [m for m in smtp.to(owner["email"]) if "Closed" in str(m["Subject"])] == []
    with app.app_context():
        skipped = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "action_reminder")).one()
        assert (skipped.status, skipped.last_error) == (
            "skipped",
            "Not sent: the action item was closed before its reminder went.",
        )


def test_a_moved_due_date_earns_a_reminder_for_the_new_date(app, owner):
    cancellation_id = log(app, owner["email"])
    due = utcnow().date() + timedelta(days=10)
    item_id = make_item(app, cancellation_id, due)
    with app.app_context():
        assert remind_due_items(at(due - timedelta(days=2))) == "1 action item reminder queued"
        db.session.get(ActionItem, item_id).due_on = due + timedelta(days=7)
        db.session.commit()
        assert remind_due_items(at(due)) == ""
        assert remind_due_items(at(due + timedelta(days=5))) == "1 action item reminder queued"


def test_weekly_digest_once_per_person_and_none_for_someone_with_nothing(app, smtp, owner, other_owner):
    cancellation_id = log(app, owner["email"])
    monday = utcnow().date() + timedelta(days=7 - utcnow().weekday())
    make_item(app, cancellation_id, monday - timedelta(days=1), title="Late one")
    make_item(app, cancellation_id, monday + timedelta(days=20), title="Later one")
    make_item(app, cancellation_id, None, title="Undated one")
    deliver(app)
    smtp.clear()
    with app.app_context():
        assert send_weekly_digests(at(monday, 6)) == ""  # before seven on Monday
        assert send_weekly_digests(at(monday, 7)) == "1 weekly digest queued"
        assert send_weekly_digests(at(monday, 8)) == ""
        assert send_weekly_digests(at(monday + timedelta(days=3))) == ""
    deliver(app, now=at(monday, 9))
    digest = smtp.one(owner["email"], "Your week: 3 open action items, 1 overdue")
    body = text_part(digest).replace("\r\n", "\n")
    assert body.index("OVERDUE") < body.index("Late one") < body.index("OPEN") < body.index("Later one")
    assert "Undated one (no due date" in body
    assert smtp.to(other_owner["email"]) == []
    with app.app_context():
        assert send_weekly_digests(at(monday + timedelta(days=7), 7)) == "1 weekly digest queued"
        for item in db.session.scalars(select(ActionItem)):
            close_item(item, "done")
        db.session.commit()
        assert send_weekly_digests(at(monday + timedelta(days=14), 7)) == ""
        assert db.session.scalars(select(ActionDigest.week_of)).all() == [monday, monday + timedelta(days=7)]


# --- The API -----------------------------------------------------------------------------------------------


def api_token(app):
    with app.app_context():
        token = create_token("tracker")[1]
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}


def test_the_api_lists_and_closes_items(app, client, owner, other_owner):
    headers = api_token(app)
    cancellation_id = log(app, owner["email"])
    today = utcnow().date()
    late = make_item(app, cancellation_id, today - timedelta(days=1), title="Late")
    make_item(app, cancellation_id, today + timedelta(days=5), title="Soon", owner_email=other_owner["email"])
    listing = client.get("/api/v1/action-items", headers=headers).json
    assert listing["total"] == 2 and listing["next"] is None
    assert listing["data"][0] == {
        "id": late,
        "title": "Late",
        "owner_email": owner["email"],
        "due_on": (today - timedelta(days=1)).isoformat(),
        "status": "open",
        "note": "",
        "ticket_url": None,
        "cancellation_id": cancellation_id,
        "closed_at": None,
    }
    assert [i["title"] for i in client.get("/api/v1/action-items?overdue=true", headers=headers).json["data"]] == [
        "Late"
    ]
    owned = client.get(f"/api/v1/action-items?owner={other_owner['email']}", headers=headers).json
    assert [i["title"] for i in owned["data"]] == ["Soon"]
    assert client.get("/api/v1/action-items?status=closed", headers=headers).status_code == 400
    empty = client.get("/api/v1/action-items?owner=&overdue=true", headers=headers)  # "any" is leaving it out
    assert empty.status_code == 400 and empty.json["errors"][0]["field"] == "owner"

    patched = client.patch(
        f"/api/v1/action-items/{late}",
        headers=headers,
        json={"status": "done", "note": "Shipped in ACM-7", "ticket_url": "https://linear.app/acme/issue/ACM-7"},
    )
    assert patched.status_code == 200
    assert (patched.json["status"], patched.json["note"]) == ("done", "Shipped in ACM-7")
    assert patched.json["closed_at"].endswith("Z")
    assert client.get("/api/v1/action-items?status=done", headers=headers).json["total"] == 1

    refused = client.patch(f"/api/v1/action-items/{late}", headers=headers, json={"reason": "x", "ticket_url": "ftp:"})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json["errors"]} == {"reason"}
    bad = client.patch(f"/api/v1/action-items/{late}", headers=headers, json={"owner_email": "ghost@acme.test"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "owner_email"
    assert client.patch("/api/v1/action-items/999", headers=headers, json={}).status_code == 404


# --- Money in the company's currency -----------------------------------------------------------------------


def test_money_is_shown_in_the_currency_from_settings(app, client, auth, owner, admin):
    from decimal import Decimal

    cancellation_id = log(app, owner["email"], mrr=Decimal("1249.5"))
    auth.login(admin["email"])
    assert "€1,249.50" in client.get(f"/cancellations/{cancellation_id}").text
    saved = submit_form(client, "/admin/settings/", {"currency": "usd"})
    assert saved.status_code == 302
    assert "$1,249.50" in client.get(f"/cancellations/{cancellation_id}").text
    refused = submit_form(client, "/admin/settings/", {"currency": "EURO"})
    assert refused.status_code == 422 and "ISO 4217" in refused.text


def test_the_jobs_are_registered_with_the_scheduler(app, runner, owner):
    from feedback.jobs import registered

    jobs = {job.name: job for job in registered()}
    assert jobs["actions.reminders"].every == timedelta(minutes=15)
    assert jobs["actions.open-items-digest"].every == timedelta(hours=1)
    cancellation_id = log(app, owner["email"])
    make_item(app, cancellation_id, utcnow().date() - timedelta(days=1), title="Late")
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "1 action item reminder queued" in result.output
