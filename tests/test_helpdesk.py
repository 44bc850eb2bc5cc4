"""The customer's help-desk history read by the worker after a cancellation (issue 26, items 1-3 and 7)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import csrf_token, log, run_jobs
from sqlalchemy import select
from werkzeug.wrappers import Response
from zendesk_fake import TOKEN, FakeZendesk, settings

from feedback.db import utcnow
from feedback.extensions import db
from feedback.helpdesk import zendesk as zendesk_module
from feedback.helpdesk.connector import searchable
from feedback.helpdesk.http import HelpdeskError
from feedback.helpdesk.models import Conversation, HelpdeskFetch
from feedback.helpdesk.text import html_to_text
from feedback.postmortem.models import Cancellation

#: The departure the fixtures' tickets lead up to; the worker runs at the real time (the fetch is due when logged).
CANCELLED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def app_config(app_config, httpserver):
    return {**app_config, **settings(httpserver)}


def fetches(app) -> list[HelpdeskFetch]:
    with app.app_context():
        rows = list(db.session.scalars(select(HelpdeskFetch).order_by(HelpdeskFetch.id)))
        db.session.expunge_all()
        return rows


def conversations(app) -> list[Conversation]:
    with app.app_context():
        rows = list(db.session.scalars(select(Conversation).order_by(Conversation.opened_at.desc())))
        db.session.expunge_all()
        return rows


def timeline(app, cancellation_id: int) -> list[str]:
    with app.app_context():
        return [event.detail for event in db.session.get(Cancellation, cancellation_id).events]


def test_a_cancellation_brings_the_customer_s_tickets_in_one_worker_pass(app, owner, httpserver):
    fake = FakeZendesk(httpserver)
    cancellation_id = log(app, owner["email"], cancelled_at=CANCELLED)
    [fetch] = fetches(app)
    assert (fetch.state, fetch.source, fetch.attempts) == ("queued", "zendesk", 0)
    assert httpserver.log == []  # logging waited for nothing

    assert run_jobs(app, utcnow())["helpdesk.fetch"] == "1 help-desk fetch run"

    assert fake.searches[0] == {
        "query": 'type:ticket requester:"casey@client.test" created>=2025-12-01',
        "sort_by": "created_at",
        "sort_order": "desc",
    }
    assert fake.searches[1]["page"] == "2"
    newest, invoice, renewal = conversations(app)
    assert newest.external_id == "35436"
    assert newest.url == settings(httpserver)["ZENDESK_URL"] + "/agent/tickets/35436"
    assert newest.subject == "Export <b>broken</b> again <script>alert(1)</script>"  # text, escaped when shown
    assert (
        newest.opening_message
        == "The export has failed for the third time this month.\n\nWe are looking at other tools."
    )
    assert (newest.status, newest.channel, newest.satisfaction, newest.replies) == ("solved", "email", "bad", 3)
    assert newest.solved_at == datetime(2026, 11, 30, 16, 2, 11, tzinfo=UTC)
    assert newest.tags == ["export", "churn-risk"]
    assert newest.opened_by_customer
    assert (invoice.satisfaction, invoice.channel) == ("good", "web")
    assert renewal.satisfaction == ""  # "unoffered" is no rating
    assert not renewal.opened_by_customer  # an agent wrote first: never the final straw
    [fetch] = fetches(app)
    assert (fetch.state, fetch.attempts, fetch.outcome) == ("done", 1, "3 conversations kept")
    assert "Zendesk: 3 conversations read from the help desk." in timeline(app, cancellation_id)


def test_fetching_again_updates_the_kept_conversations_instead_of_doubling_them(app, owner, httpserver):
    FakeZendesk(httpserver)
    cancellation_id = log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    with app.app_context():
        from feedback.helpdesk.operations import queue_fetch

        cancellation = db.session.get(Cancellation, cancellation_id)
        assert queue_fetch(cancellation) is not None
        assert queue_fetch(cancellation) is not None  # the same queued one, moved up: one per cancellation
        db.session.commit()
    assert [f.state for f in fetches(app)] == ["done", "queued"]
    run_jobs(app, utcnow() + timedelta(minutes=5))
    assert len(conversations(app)) == 3


def test_no_help_desk_configured_queues_nothing(app_config, owner, httpserver):
    from conftest import log as log_one

    from feedback import create_app

    app = create_app({**app_config, "ZENDESK_API_TOKEN": ""})
    try:
        log_one(app, owner["email"])
        assert fetches(app) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def test_an_address_with_a_plus_is_searched_as_it_is(app, owner, httpserver):
    fake = FakeZendesk(httpserver)
    log(app, owner["email"], customer_email="casey+vip@client.test", cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    assert fake.searches[0]["query"].startswith('type:ticket requester:"casey+vip@client.test" ')


@pytest.mark.parametrize("address", ['"casey" OR requester:x@y.test', 'a"b@client.test', "a b@client.test", ""])
def test_an_address_that_could_change_the_query_is_refused(address):
    with pytest.raises(HelpdeskError) as refused:
        searchable("Zendesk", address)
    assert not refused.value.retry


def failing(status: int, body: str = "{}", headers: dict[str, str] | None = None) -> Any:
    return lambda request: Response(body, status, headers=headers or {}, content_type="application/json")


def run_until_finished(app, start: datetime) -> list[HelpdeskFetch]:
    now = start
    for _ in range(20):
        run_jobs(app, now)
        [fetch] = fetches(app)
        if fetch.state != "queued":
            return [fetch]
        assert fetch.due_at > now
        now = fetch.due_at
    raise AssertionError("the fetch never finished")


def test_a_help_desk_that_is_down_delays_nothing_and_is_given_up_after_a_day(app, owner, httpserver, smtp):
    httpserver.expect_request("/api/v2/search.json").respond_with_handler(failing(503))
    cancellation_id = log(app, owner["email"], cancelled_at=CANCELLED)
    start = utcnow()
    run_jobs(app, start)
    [fetch] = fetches(app)
    assert (fetch.state, fetch.attempts, fetch.due_at) == ("queued", 1, start + timedelta(minutes=1))
    assert fetch.last_error == "Zendesk answered 503: it is having trouble."
    [fetch] = run_until_finished(app, fetch.due_at)
    assert (fetch.state, fetch.attempts) == ("failed", 7)
    assert fetch.finished_at - start < timedelta(days=1)
    notes = timeline(app, cancellation_id)
    assert "Zendesk could not be reached; tried 7 times. Last: Zendesk answered 503: it is having trouble." in notes
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).invitation is not None  # the survey went regardless


def test_wrong_credentials_give_up_at_once_in_plain_words(app, owner, httpserver):
    httpserver.expect_request("/api/v2/search.json").respond_with_handler(
        failing(401, '{"error": "Couldn\'t authenticate you"}')
    )
    cancellation_id = log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    [fetch] = fetches(app)
    assert (fetch.state, fetch.attempts) == ("failed", 1)
    note = "Zendesk answered 401: the API token or email is wrong. No conversations were read."
    assert fetch.outcome == note
    assert note in timeline(app, cancellation_id)


@pytest.mark.parametrize("status", [403, 404])
def test_forbidden_and_not_found_are_not_retried(app, owner, httpserver, status):
    httpserver.expect_request("/api/v2/search.json").respond_with_handler(failing(status))
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    [fetch] = fetches(app)
    assert (fetch.state, fetch.attempts) == ("failed", 1)
    assert fetch.outcome.startswith(f"Zendesk answered {status}: ")


def test_a_429_is_retried_after_its_retry_after(app, owner, httpserver):
    httpserver.expect_request("/api/v2/search.json").respond_with_handler(failing(429, headers={"Retry-After": "600"}))
    log(app, owner["email"], cancelled_at=CANCELLED)
    start = utcnow()
    run_jobs(app, start)
    [fetch] = fetches(app)
    assert (fetch.state, fetch.due_at) == ("queued", start + timedelta(seconds=600))
    assert fetch.last_error == "Zendesk answered 429: it limits us for now."


def test_malformed_json_is_a_failed_attempt_not_a_crash(app, owner, httpserver):
    httpserver.expect_request("/api/v2/search.json").respond_with_handler(failing(200, '{"results": [ oops'))
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    [fetch] = fetches(app)
    assert (fetch.state, fetch.last_error) == ("queued", "Zendesk answered with something that is not JSON.")


def test_the_wrong_shape_is_a_failed_attempt_too(app, owner, httpserver):
    httpserver.expect_request("/api/v2/search.json").respond_with_handler(failing(200, '{"results": "nope"}'))
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    [fetch] = fetches(app)
    assert fetch.last_error == "Zendesk answered in a shape we do not know (no results list)."


def test_a_page_that_never_ends_stops(app, owner, httpserver):
    pages: list[str] = []

    def endless(request):
        pages.append(request.args.get("page", "1"))
        following = httpserver.url_for("/api/v2/search.json") + f"?page={len(pages) + 1}"
        return FakeZendesk.json({"results": [], "next_page": following, "count": 10**9})

    httpserver.expect_request("/api/v2/search.json").respond_with_handler(endless)
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    assert len(pages) == zendesk_module.MAX_PAGES
    [fetch] = fetches(app)
    assert (fetch.state, fetch.outcome) == ("done", "no conversations found")


def test_a_next_page_on_another_host_is_not_followed(app, owner, httpserver):
    def elsewhere(request):
        return FakeZendesk.json({"results": [], "next_page": "http://attacker.test/api/v2/search.json?page=2"})

    httpserver.expect_request("/api/v2/search.json").respond_with_handler(elsewhere)
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    assert len(httpserver.log) == 1
    assert fetches(app)[0].state == "done"


def test_a_10_mb_answer_is_refused_mid_read(app, owner, httpserver):
    def huge(request):
        chunk = b" " * 65536
        return Response((chunk for _ in range(160)), 200, content_type="application/json")  # 10 MB, no length

    httpserver.expect_request("/api/v2/search.json").respond_with_handler(huge)
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    [fetch] = fetches(app)
    assert fetch.last_error == "Zendesk answered with more than 2,000,000 bytes; we stopped."


def test_a_help_desk_that_hangs_costs_one_attempt(app, owner, httpserver, monkeypatch):
    monkeypatch.setattr(zendesk_module, "TIMEOUT", httpx.Timeout(0.2))

    def slow(request):
        time.sleep(1)
        return FakeZendesk.json({"results": []})

    httpserver.expect_request("/api/v2/search.json").respond_with_handler(slow)
    log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    [fetch] = fetches(app)
    assert (fetch.state, fetch.last_error) == ("queued", "Zendesk did not answer in time (ReadTimeout).")


def test_html_becomes_text_without_scripts_or_styles():  # the opening message is then cut at 2,000
    html = "<style>p{color:red}</style><p>One &amp; two</p><p>three<br>four</p><script>alert(1)</script>"
    assert html_to_text(html) == "One & two\n\nthree\nfour"  # paragraphs apart, lines together


# --- Where it shows (item 3) -----------------------------------------------------------------------------


def fetched(app, owner, httpserver) -> int:
    FakeZendesk(httpserver)
    cancellation_id = log(app, owner["email"], cancelled_at=CANCELLED)
    run_jobs(app, utcnow())
    return cancellation_id


def test_the_review_page_counts_them_and_names_the_final_straw(app, client, logged_in_owner, httpserver):
    cancellation_id = fetched(app, logged_in_owner, httpserver)
    page = client.get(f"/cancellations/{cancellation_id}/review").text
    assert "3 conversations in the last year, 1 in the 30 days before cancelling." in page
    straw = page.split("The likely final straw", 1)[1]
    assert "Export &lt;b&gt;broken&lt;/b&gt; again &lt;script&gt;alert(1)&lt;/script&gt;" in straw
    assert "<script>alert(1)" not in page
    assert "rated bad" in straw
    assert "We are looking at other tools." in straw.split("</blockquote>")[0]
    zendesk = settings(httpserver)["ZENDESK_URL"]
    links = [line for line in page.splitlines() if f'href="{zendesk}/agent/tickets/' in line]
    assert [link.split("/agent/tickets/")[1].split('"')[0] for link in links] == ["35436", "35436", "35102", "34001"]


def test_the_agent_s_own_message_is_never_the_final_straw(app, client, logged_in_owner, httpserver):
    FakeZendesk(httpserver)
    cancellation_id = log(app, logged_in_owner["email"], cancelled_at=datetime(2026, 7, 1, tzinfo=UTC))
    run_jobs(app, utcnow())
    page = client.get(f"/cancellations/{cancellation_id}/review").text
    assert "1 conversation in the last year, 1 in the 30 days before cancelling." in page
    assert "The likely final straw" not in page  # only the renewal reminder, which we wrote


def test_the_postmortem_timeline_merges_them_with_our_events_newest_first(app, client, logged_in_owner, httpserver):
    cancellation_id = fetched(app, logged_in_owner, httpserver)
    page = client.get(f"/cancellations/{cancellation_id}").text
    timeline = page.split('id="timeline-title"', 1)[1].split("</ol>", 1)[0]
    order = [
        timeline.index("Zendesk: 3 conversations read from the help desk."),
        timeline.index("Logged from the"),
        timeline.index("the customer opened “Export &lt;b&gt;broken"),
        timeline.index("the customer opened “Invoice address”"),
        timeline.index("we wrote to the customer, “Your renewal is coming up”"),
    ]
    assert order == sorted(order)
    assert "Refresh from the help desk" in page


def test_refresh_queues_a_fetch_that_the_next_pass_runs(app, client, logged_in_owner, httpserver):
    cancellation_id = fetched(app, logged_in_owner, httpserver)
    page = client.get(f"/cancellations/{cancellation_id}").text
    answer = client.post(f"/cancellations/{cancellation_id}/helpdesk/refresh", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302 and answer.location.endswith(f"/cancellations/{cancellation_id}#helpdesk")
    assert [f.state for f in fetches(app)] == ["done", "queued"]
    assert "Reading the customer's conversations" not in client.get(f"/cancellations/{cancellation_id}").text
    run_jobs(app, utcnow() + timedelta(minutes=1))
    assert [f.state for f in fetches(app)] == ["done", "done"]


def test_another_owner_may_not_refresh(app, client, auth, owner, other_owner, httpserver):
    cancellation_id = fetched(app, owner, httpserver)
    auth.login(other_owner["email"])
    page = client.get("/cancellations/").text
    answer = client.post(f"/cancellations/{cancellation_id}/helpdesk/refresh", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 403
    assert len(fetches(app)) == 1


def test_the_summary_email_and_page_carry_the_counts_and_the_final_straw(
    app, client, logged_in_owner, httpserver, smtp
):
    from conftest import deliver, html_part, text_part
    from test_customer_words import answered, summarize

    answered(app, logged_in_owner["email"], "Casey Customer")  # casey@client.test, whom the fake knows
    [fetch] = fetches(app)
    cancellation_id = fetch.cancellation_id
    FakeZendesk(httpserver)
    run_jobs(app, utcnow())
    smtp.messages.clear()
    summarize(app, cancellation_id)
    deliver(app)
    [summary] = [m for m in smtp.messages if "BEFORE THEY LEFT" in text_part(m)]
    text, html = text_part(summary), html_part(summary)
    assert "3 conversations in the last year, 1 in the 30 days before cancelling." in text
    assert "The likely final straw: Export <b>broken</b> again <script>alert(1)</script> (" in text  # plain text
    assert "rated bad" in text
    assert "Export &lt;b&gt;broken&lt;/b&gt; again &lt;script&gt;" in html and "<script>" not in html
    assert settings(httpserver)["ZENDESK_URL"] + "/agent/tickets/35436" in html
    page = client.get(f"/cancellations/{cancellation_id}/summary").text
    assert "3 conversations in the last year" in page and "The likely final straw" in page


# --- Admin → Integrations (item 4) ---------------------------------------------------------------------------


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def test_integrations_names_the_help_desk_and_never_its_credentials(app, client, logged_in_admin, httpserver):
    cancellation_id = fetched(app, logged_in_admin, httpserver)
    page = client.get("/admin/integrations/").text
    assert "<strong>Zendesk</strong> is configured (ZENDESK_URL, ZENDESK_EMAIL, ZENDESK_API_TOKEN are set)" in page
    assert TOKEN not in page
    assert "3 conversations kept" in page
    assert cancellation_id


def test_test_connection_says_in_plain_words_what_happened(app, client, logged_in_admin, httpserver):
    fake = FakeZendesk(httpserver)
    page = client.get("/admin/integrations/").text
    answer = client.post("/admin/integrations/test", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Zendesk answered: the credentials work and tickets can be searched." in answer.text
    assert fake.searches[0]["query"].startswith('type:ticket requester:"farewell-connection-test@example.invalid"')

    fake.authorization = "Basic something-else"  # as if the token had been revoked
    answer = client.post("/admin/integrations/test", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "The test failed. Zendesk answered 401: the API token or email is wrong." in answer.text
    assert TOKEN not in answer.text


def test_integrations_without_a_help_desk_says_what_to_set(app_config, admin):
    from conftest import AuthActions

    from feedback import create_app

    bare = create_app({**app_config, "ZENDESK_URL": ""})
    try:
        client = bare.test_client()
        AuthActions(client).login(admin["email"])
        page = client.get("/admin/integrations/").text
        assert "No help desk is configured." in page
        assert "(missing: ZENDESK_URL)" in page
    finally:
        with bare.app_context():
            db.engine.dispose()
