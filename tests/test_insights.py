"""Insights: every number on the page against twelve cancellations worked out by hand, filters, export, API, digest."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import PASSWORD, deliver, text_part
from sqlalchemy import text

from feedback.auth.models import User
from feedback.cancellations.operations import NewCancellation, log_cancellation
from feedback.db import utcnow
from feedback.extensions import db
from feedback.insights import charts
from feedback.insights.filters import Filter
from feedback.insights.models import DigestSent
from feedback.insights.queries import Share, report
from feedback.postmortem.models import Cancellation
from feedback.questions.defaults import EXIT_SURVEY
from feedback.questions.operations import live_version, publish
from feedback.reviews.operations import review_version, submit_review
from feedback.surveys.operations import submit_survey

EXP = "It was too expensive for us"
MISS = "It was missing something we needed"
MOVE = "We moved to another product"
BREAK = "Something kept breaking"
GOOD, PART, NOFIT = "Yes, a good fit", "Partly", "No, not a fit"
EVIL = '=HYPERLINK("http://evil.test","click")'

SINCE = utcnow().date() - timedelta(days=40)
UNTIL = SINCE + timedelta(days=29)
RANGE = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}

#: Ten cancellations in the period (days after SINCE) and two in the 30 days before it. Hours are from the
#: invitation to the answer and from the logging to the review. Numbers 1-4 are asked survey version 1; the
#: survey is then republished without return_likelihood, and 5-12 are asked version 2.
CASES: list[dict[str, Any]] = [
    dict(n=1, day=0, owner="o", plan="Team", mrr="100", source="web", tenure=60,
         survey=dict(main_reason=EXP, return_likelihood=8, may_follow_up=True, final_straw="Price doubled at renewal"),
         answer_hours=1, opened=True, review=dict(owner_reason=EXP, icp_fit=GOOD, avoidable="Yes"), review_hours=10),
    dict(n=2, day=1, owner="o", plan="Team", mrr="100", source="web", tenure=180,
         survey=dict(main_reason=EXP, return_likelihood=3, may_follow_up=False), answer_hours=2, opened=True,
         review=dict(owner_reason=MISS, icp_fit=PART, avoidable="Maybe"), review_hours=20),
    dict(n=3, day=2, owner="x", plan="Pro", mrr="250", source="api", tenure=540,
         survey=dict(main_reason=MISS, return_likelihood=5, may_follow_up=True, final_straw=EVIL),
         answer_hours=3, opened=True, review=dict(owner_reason=MISS, icp_fit=NOFIT, avoidable="No"), review_hours=30),
    dict(n=4, day=3, owner="x", plan="Pro", mrr="250", source="api", tenure=900,
         survey=dict(main_reason=MOVE, return_likelihood=0, may_follow_up=False), answer_hours=5, opened=True),
    dict(n=5, day=4, owner="o", plan="Starter", mrr="20", source="csv",
         survey=dict(main_reason=EXP, may_follow_up=True, could_have_done="A smaller plan"), answer_hours=24,
         reminded=True, opened=True, review=dict(owner_reason=EXP, icp_fit=NOFIT, avoidable="Yes"), review_hours=40),
    dict(n=6, day=5, owner="o", plan="Starter", mrr="20", source="web", locale="de",
         survey=dict(main_reason=BREAK), answer_hours=48, reminded=True, opened=True),
    dict(n=7, day=6, owner="x", plan="Team", mrr="100", source="stripe", feedback="too_expensive", opened=True,
         review=dict(owner_reason=EXP, icp_fit=GOOD, avoidable="No"), review_hours=50),
    dict(n=8, day=7, owner="x", plan="Team", mrr="100", source="stripe", feedback="missing_features", fetched=True),
    dict(n=9, day=8, owner="o", plan="Pro", mrr="250", source="web", fetched=True),  # a mail scanner, no person
    dict(n=10, day=9, owner="o", plan="", mrr=None, source="web"),
    dict(n=11, day=-10, owner="o", plan="Team", mrr="100", source="web"),
    dict(n=12, day=-20, owner="x", plan="Pro", mrr="250", source="api"),
]  # fmt: skip


def _at(day: int, hour: int = 10) -> datetime:
    return datetime.combine(SINCE + timedelta(days=day), time(hour), tzinfo=UTC)


def load_cases(app: Any, owner: dict[str, Any], other_owner: dict[str, Any]) -> dict[int, int]:
    """The twelve cancellations, through the real operations, then dated as the table above says."""
    ids: dict[int, int] = {}
    with app.app_context():
        live_version("exit-survey")
        for case in CASES:
            if case["n"] == 5:
                without_likelihood = [q for q in EXIT_SURVEY if q["key"] != "return_likelihood"]
                without_likelihood[0] = {**without_likelihood[0], "prompt": "What made you leave?"}  # reworded
                publish("exit-survey", without_likelihood)
            email = owner["email"] if case["owner"] == "o" else other_owner["email"]
            cancelled = _at(case["day"])
            cancellation = log_cancellation(
                NewCancellation(
                    customer_name=f"Customer {case['n']}",
                    customer_email=f"c{case['n']}@client.test",
                    owner_email=email,
                    company=f"Company {case['n']}",
                    plan=case["plan"],
                    mrr=Decimal(case["mrr"]) if case["mrr"] else None,
                    customer_since=(cancelled.date() - timedelta(days=case["tenure"])) if "tenure" in case else None,
                    cancelled_at=cancelled,
                    source=case["source"],
                    locale=case.get("locale"),
                    feedback=case.get("feedback", ""),
                )
            )
            cancellation.created_at = cancelled
            invitation = cancellation.invitation
            invitation.created_at = invitation.sent_at = cancelled
            if case.get("survey"):
                response = submit_survey(invitation, case["survey"], "test")
                invitation.answered_at = response.submitted_at = cancelled + timedelta(hours=case["answer_hours"])
            if case.get("opened"):
                invitation.opened_at = cancelled + timedelta(minutes=30)
            if case.get("fetched"):
                invitation.fetched_at = cancelled + timedelta(seconds=5)
            if case.get("reminded"):
                invitation.reminded_at = cancelled + timedelta(hours=12)
            if case.get("review"):
                author = db.session.get(User, owner["id"] if case["owner"] == "o" else other_owner["id"])
                review = submit_review(cancellation, author, case["review"], review_version(cancellation).id)
                review.submitted_at = cancelled + timedelta(hours=case["review_hours"])
            db.session.commit()
            ids[case["n"]] = cancellation.id
    return ids


@pytest.fixture
def cases(app, owner, other_owner) -> dict[int, int]:
    return load_cases(app, owner, other_owner)


def numbers(app: Any, **narrowed: str) -> Any:
    with app.app_context():
        result = report(db.session.connection(), Filter(since=SINCE, until=UNTIL, **narrowed))
        db.session.rollback()
        return result


def shares(result_shares: Any) -> dict[str, tuple[int, float | None, Decimal]]:
    return {share.label: (share.count, share.share, share.mrr_lost) for share in result_shares}


def test_totals_and_funnel(app, cases):
    r = numbers(app)
    t = r.totals
    assert (t["cancellations"], t["mrr_lost"]) == (10, Decimal("1190.00"))
    assert (r.previous["cancellations"], r.previous["mrr_lost"]) == (2, Decimal("350.00"))
    assert (t["invited"], t["link_fetched"], t["opened"], t["answered"]) == (10, 9, 7, 6)
    assert (t["reviewed"], t["avoidable"]) == (5, 2)
    assert (t["response_rate"], t["review_rate"]) == (0.6, 0.5)
    assert t["median_answer_seconds"] == pytest.approx(4 * 3600)  # 1, 2, 3, 5, 24, 48 hours
    assert t["median_review_seconds"] == pytest.approx(30 * 3600)  # 10, 20, 30, 40, 50 hours
    assert (t["after_reminder"], t["after_reminder_share"]) == (2, pytest.approx(2 / 6))


def test_reasons_count_only_the_versions_that_asked(app, cases):
    r = numbers(app)
    # main_reason is asked by both versions (reworded in the second): six answers.
    assert shares(r.reasons) == {
        EXP: (3, 0.5, Decimal("220.00")),
        MISS: (1, pytest.approx(1 / 6), Decimal("250.00")),
        MOVE: (1, pytest.approx(1 / 6), Decimal("250.00")),
        BREAK: (1, pytest.approx(1 / 6), Decimal("20.00")),
    }
    assert [share.label for share in r.reasons] == [EXP, MISS, MOVE, BREAK]
    # return_likelihood was only in version 1: four answers make the whole, not six.
    assert {s.label: (s.count, s.share) for s in r.likelihood if s.count} == {
        "0": (1, 0.25), "3": (1, 0.25), "5": (1, 0.25), "8": (1, 0.25)
    }  # fmt: skip
    assert (r.follow_up.count, r.follow_up.share) == (3, 0.5)  # 3 of the 6 asked; number 6 skipped it
    assert shares(r.stripe_reasons) == {
        "too_expensive": (1, 0.5, Decimal("100.00")),
        "missing_features": (1, 0.5, Decimal("100.00")),
    }


def test_owner_view_and_agreement(app, cases):
    r = numbers(app)
    assert shares(r.owner_reasons) == {EXP: (3, 0.6, Decimal("220.00")), MISS: (2, 0.4, Decimal("350.00"))}
    assert r.agreement == {
        "compared": 4,
        "agreed": 3,
        "rate": 0.75,
        "differences": [{"customer": EXP, "owner": MISS, "count": 1}],
    }
    assert shares(r.fit) == {
        GOOD: (2, 0.4, Decimal("200.00")),
        PART: (1, 0.2, Decimal("100.00")),
        NOFIT: (2, 0.4, Decimal("270.00")),
    }
    assert [s.label for s in r.avoidable] == ["Yes", "Maybe", "No"]
    assert shares(r.avoidable)["Yes"] == (2, 0.4, Decimal("120.00"))


def test_splits(app, cases):
    r = numbers(app)
    assert {s.label: (s.count, s.mrr_lost) for s in r.plans} == {
        "Team": (4, Decimal("400.00")), "Pro": (3, Decimal("750.00")),
        "Starter": (2, Decimal("40.00")), "": (1, Decimal("0.00")),
    }  # fmt: skip
    assert [(s.label, s.count) for s in r.tenure] == [
        ("Under 3 months", 1), ("3–12 months", 1), ("1–2 years", 1), ("Over 2 years", 1), ("Not known", 6)
    ]  # fmt: skip
    assert [(s.label, s.count) for s in r.mrr_bands] == [
        ("Under 50", 2), ("50–199", 4), ("200–999", 3), ("Not known", 1)
    ]  # fmt: skip


def test_periods_weeks_against_the_period_before(app, cases):
    r = numbers(app)
    assert [b.start for b in r.periods] == [SINCE + timedelta(days=7 * k) for k in range(5)]
    assert [b.cancellations for b in r.periods] == [7, 3, 0, 0, 0]
    assert [b.mrr_lost for b in r.periods][:2] == [Decimal("840.00"), Decimal("350.00")]
    # Day -20 is 10 days into the period before: its second week; day -10 is 20 days in: its third.
    assert [b.previous_cancellations for b in r.periods] == [0, 1, 1, 0, 0]
    over_time = {b.start: b.by for b in r.reasons_over_time}
    assert over_time[SINCE] == {EXP: 3, MISS: 1, MOVE: 1, BREAK: 1}
    assert {b.start: b.by for b in r.fit_over_time}[SINCE] == {GOOD: 2, PART: 1, NOFIT: 2}


def test_filters_narrow_every_number(app, cases):
    by_source = numbers(app, source="api")
    assert (by_source.totals["cancellations"], by_source.totals["mrr_lost"]) == (2, Decimal("500.00"))
    assert by_source.previous["cancellations"] == 1  # number 12 came by API too
    by_owner = numbers(app, owner="oscar@acme.test")
    assert (by_owner.totals["cancellations"], by_owner.totals["mrr_lost"]) == (4, Decimal("700.00"))
    assert shares(by_owner.reasons) == {MISS: (1, 0.5, Decimal("250.00")), MOVE: (1, 0.5, Decimal("250.00"))}
    not_fit = numbers(app, fit=NOFIT)
    assert (not_fit.totals["cancellations"], not_fit.totals["mrr_lost"]) == (2, Decimal("270.00"))
    assert numbers(app, avoidable="Yes").totals["cancellations"] == 2
    assert numbers(app, locale="de").totals["cancellations"] == 1
    assert numbers(app, plan="Team").totals["mrr_lost"] == Decimal("400.00")


def test_the_page_shows_the_numbers(client, auth, owner, cases):
    auth.login(owner["email"])
    page = client.get("/insights/", query_string=RANGE)
    assert page.status_code == 200
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))
    assert "10 cancellations took €1,190.00 of MRR: 400% more than the period before." in text
    assert f"“{EXP}” leads: 3 (50%), €220.00 MRR lost." in text
    assert "Owners named the customer's own reason 3 times in 4" in text
    assert "60% of invited customers answered, in a median of 4 hours" in text
    assert "owners reviewed 50% of losses, in a median of 30 hours" in text
    assert "40% of reviewed losses were not a fit for the ideal customer profile: time to reassess" in text
    assert "Owners judged 40% of reviewed losses avoidable." in text
    assert "50% allow a follow-up" in text
    assert "Price doubled at renewal" in text and "A smaller plan" in text
    assert EVIL.replace('"', "&#34;") in page.text  # shown as text, escaped
    # Each entry links where its reader may go: their own postmortem, a colleague's sent summary.
    assert f'href="/cancellations/{cases[1]}"' in page.text
    assert f'href="/cancellations/{cases[3]}/summary"' in page.text
    assert f'href="/cancellations/{cases[3]}"' not in page.text
    assert client.get(f"/cancellations/{cases[3]}/summary").status_code == 200
    assert page.text.count("<svg") >= 10 and "<title id=" in page.text
    filtered = client.get("/insights/", query_string={**RANGE, "owner": "oscar@acme.test"})
    assert "4 cancellations took €700.00 of MRR" in re.sub(r"\s+", " ", filtered.text)
    # The menus speak words, not values, and offer every value whatever the owner: Starter and German are only
    # the other owner's, yet one switches to them without resetting the owner first.
    menus = {
        name: re.findall(r"<option[^>]*>([^<]*)</option>", filtered.text.split(f'id="{name}"')[1].split("</select>")[0])
        for name in ("plan", "source", "locale")
    }
    assert {"Starter", "Pro", "Team"} <= set(menus["plan"]), menus
    assert {"API", "CSV import", "Web form"} <= set(menus["source"]) and "Api" not in menus["source"], menus
    assert "Deutsch" in menus["locale"] and "de" not in menus["locale"], menus


def test_the_charts_draw_the_numbers_and_escape_the_words(client, auth, owner, cases):
    """The SVG is written in Python (charts.py): its bars follow the counts, and a customer's words stay text."""
    auth.login(owner["email"])
    page = client.get("/insights/", query_string=RANGE).text
    reasons = re.search(r'<svg class="chart"[^>]*aria-labelledby="chart-reasons-title.*?</svg>', page, re.S).group(0)
    assert '<title id="chart-reasons-title">Main reason, as the customer gave it</title>' in reasons
    # 3, 1, 1, 1 answers: the leading bar is the whole width, the others a third of it.
    widths = re.findall(r'<rect x="0" y="\d+" width="([\d.]+)%" height="10" rx="5" fill=', reasons)
    assert widths[:2] == ["100.00", "33.33"] and len(widths) == 4
    assert "3 · 50%" in reasons
    drawn = charts.bars_svg(
        "chart-x", "A <b>title</b>", "desc & more", [Share('<script>alert("x")</script>', 2, 0.5)], color=1
    )
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn and "A &lt;b&gt;title&lt;/b&gt;" in drawn
    assert "desc &amp; more" in drawn and f'fill="{charts.PALETTE[1]}"' in drawn
    stacked = charts.stacked_svg("chart-y", "T", "D", [SimpleNamespace(by={"<i>": 2, "b": 2})], ["<i>", "b"], ["1 Dec"])
    assert stacked.count("<rect ") == 2 and '<li><span class="swatch swatch-0"></span>&lt;i&gt;</li>' in stacked


def test_empty_states(client, auth, owner):
    auth.login(owner["email"])
    page = client.get("/insights/")
    assert "Your insights appear here" in page.text and "Log a cancellation" in page.text
    filtered = client.get("/insights/", query_string={"source": "csv"})
    assert "Nothing matches this filter" in filtered.text
    bad = client.get("/insights/", query_string={"since": "yesterday", "fit": "maybe?"})
    assert bad.status_code == 200 and "Part of this filter made no sense" in bad.text


def test_an_owners_export_holds_only_their_own(client, auth, owner, cases):
    auth.login(owner["email"])
    rows = list(csv.DictReader(io.StringIO(client.get("/insights/export.csv", query_string=RANGE).text)))
    assert len(rows) == 6 and {row["owner"] for row in rows} == {owner["email"]}


def test_export_one_row_per_cancellation_with_every_answer(client, auth, admin, cases):
    auth.login(admin["email"])
    response = client.get("/insights/export.csv", query_string=RANGE)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 10
    header = list(rows[0])
    assert header[:3] == ["id", "cancelled_at", "customer_name"]
    assert "survey_version" in header and "review_version" in header
    assert {"survey.main_reason", "survey.return_likelihood", "survey.final_straw", "review.owner_reason"} <= set(
        header
    )
    by_name = {row["customer_name"]: row for row in rows}
    first, third, fifth = by_name["Customer 1"], by_name["Customer 3"], by_name["Customer 5"]
    assert (first["survey_version"], first["survey.main_reason"], first["survey.return_likelihood"]) == ("1", EXP, "8")
    assert (first["survey.may_follow_up"], first["mrr"], first["owner"]) == ("yes", "100.00", "olivia@acme.test")
    assert first["cancelled_at"] == _at(0).strftime("%Y-%m-%d %H:%M:%S")
    assert (fifth["survey_version"], fifth["survey.return_likelihood"]) == ("2", "")
    assert (first["review.icp_fit"], first["review.avoidable"], first["review_version"]) == (GOOD, "Yes", "1")
    assert third["survey.final_straw"] == "'" + EVIL  # a formula to a spreadsheet: neutralised
    only_api = client.get("/insights/export.csv", query_string={**RANGE, "source": "api"})
    assert len(list(csv.DictReader(io.StringIO(only_api.text)))) == 2


def test_api_insights(app, client, cases):
    from feedback.api.tokens import create_token

    with app.app_context():
        admin = User(email="api-admin@acme.test", name="API", role="admin")
        db.session.add(admin)
        db.session.flush()
        _, secret = create_token("insights test", created_by=admin)
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.get("/api/v1/insights", query_string=RANGE, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert body["filter"]["since"] == SINCE.isoformat()
    assert body["totals"] == {
        "cancellations": 10, "mrr_lost": 1190.0, "invited": 10, "link_fetched": 9, "opened": 7, "answered": 6,
        "reviewed": 5,
        "avoidable": 2, "response_rate": 0.6, "review_rate": 0.5,
        "median_answer_seconds": pytest.approx(4 * 3600), "median_review_seconds": pytest.approx(30 * 3600),
    }  # fmt: skip
    assert body["previous"] == {"cancellations": 2, "mrr_lost": 350.0}
    assert body["reasons"][0] == {"reason": EXP, "count": 3, "share": 0.5, "mrr_lost": 220.0}
    assert body["owner_reasons"][0] == {"reason": EXP, "count": 3, "share": 0.6, "mrr_lost": 220.0}
    assert body["agreement"]["rate"] == 0.75
    assert body["periods"][0] == {"start": SINCE.isoformat(), "cancellations": 7, "mrr_lost": 840.0}
    narrowed = client.get("/api/v1/insights", query_string={**RANGE, "owner": "oscar@acme.test"}, headers=headers)
    assert narrowed.get_json()["totals"]["cancellations"] == 4
    bad = client.get("/api/v1/insights", query_string={"since": "2026-13-01"}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "since"
    assert client.get("/api/v1/insights").status_code == 401


def test_weekly_digest_once_per_person_and_week(app, smtp, admin, owner, other_owner, cases):
    from feedback.insights.jobs import weekly_digest

    monday = SINCE + timedelta(days=(7 - SINCE.weekday()) % 7)  # the first Monday on or after SINCE
    now = datetime.combine(monday + timedelta(days=7), time(9), tzinfo=UTC)  # a week later: that week is done
    with app.app_context():
        assert weekly_digest(now) == f"1 digest queued for the week of {monday.isoformat()}"  # only the admin
        assert weekly_digest(now + timedelta(hours=1)) == ""  # the hour after: nothing new
        from feedback.insights.operations import set_digest

        set_digest(db.session.get(User, owner["id"]), True)  # an owner turns theirs on
        set_digest(db.session.get(User, admin["id"]), False)  # the admin turns theirs off
        db.session.commit()
        assert weekly_digest(now + timedelta(hours=2)).startswith("1 digest queued")
        assert weekly_digest(now + timedelta(days=7)).startswith("1 digest queued")  # the next week: once more
        assert db.session.query(DigestSent).count() == 3
    deliver(app)
    digest = smtp.one(admin["email"], "Week of")
    assert re.search(r"cancellations?, €[\d,]+\.\d\d MRR lost$", str(digest["Subject"]))  # the currency, as cards
    body = text_part(digest)
    in_week = [c for c in CASES if 0 <= (SINCE + timedelta(days=c["day"]) - monday).days < 7]
    assert f"{len(in_week)} customer" in body
    assert "/insights/?since=" in body
    assert len(smtp.to(owner["email"])) >= 2  # review requests are theirs too; the digests:
    assert len([m for m in smtp.to(owner["email"]) if "Week of" in str(m["Subject"])]) == 2


def test_the_unique_key_refuses_a_second_digest(app, admin):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(DigestSent(user_id=admin["id"], week_start=date(2026, 11, 23)))
        db.session.commit()
        db.session.add(DigestSent(user_id=admin["id"], week_start=date(2026, 11, 23)))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_turning_the_digest_off_on_the_page(client, auth, admin):
    auth.login(admin["email"], PASSWORD)
    page = client.get("/insights/")
    assert "Turn my digest off" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/insights/digest", data={"csrf_token": token, "wants_digest": "no"})
    assert "Send me the digest" in client.get("/insights/").text


def marks(app, cancellation_id):
    with app.app_context():
        invitation = db.session.get(Cancellation, cancellation_id).invitation
        return invitation.fetched_at, invitation.opened_at, invitation.answered_at


def test_a_fetch_is_link_fetched_and_only_the_pages_beacon_counts_as_opened(app, client, owner, smtp):
    from conftest import link_in, log

    cancellation_id = log(app, owner["email"], customer_email="opens@client.test")
    deliver(app)
    link = link_in(smtp.one("opens@client.test")).removeprefix("http://localhost")
    page = client.get(link).text  # what a mail scanner does: fetch, and nothing more
    fetched, opened, _ = marks(app, cancellation_id)
    assert fetched is not None and opened is None
    beacon = re.search(r'data-seen-url="([^"]+)"', page).group(1)
    assert beacon == link + "/seen"
    client.get(link)
    assert marks(app, cancellation_id)[:2] == (fetched, None)  # a second fetch changes nothing either

    # A scanner or another site posting to the beacon is refused; so is a post that says nothing of its origin.
    assert client.post(beacon).status_code == 403
    assert client.post(beacon, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post(beacon, headers={"Origin": "https://evil.example"}).status_code == 403
    same_origin = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    assert client.post(beacon, headers=same_origin).status_code == 204
    _, opened, answered = marks(app, cancellation_id)
    assert opened is not None and answered is None  # opened, and the link still unspent
    assert client.post(beacon, headers={"Origin": "http://localhost"}).status_code == 204  # old browsers: Origin
    assert marks(app, cancellation_id)[1] == opened  # once only
    assert client.post(link, data={"main_reason": "Something else"}).status_code == 303
    assert client.post(beacon, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 204  # answered: no change
    assert marks(app, cancellation_id)[1] == opened


def test_any_submit_counts_as_opened_without_the_pages_script(app, client, owner, smtp):
    from conftest import link_in, log

    cancellation_id = log(app, owner["email"], customer_email="noscript@client.test")
    deliver(app)
    link = link_in(smtp.one("noscript@client.test")).removeprefix("http://localhost")
    assert client.post(link, data={}).status_code == 422  # nothing answered yet: still a person at the page
    fetched, opened, answered = marks(app, cancellation_id)
    assert fetched is not None and opened is not None and answered is None


def test_the_funnel_shows_link_fetched_beside_opened(app, client, auth, owner, smtp):
    from conftest import link_in, log

    for n in range(3):
        log(app, owner["email"], customer_email=f"funnel{n}@client.test")
    deliver(app)
    links = [link_in(smtp.one(f"funnel{n}@client.test")).removeprefix("http://localhost") for n in range(3)]
    for link in links[:2]:
        client.get(link)  # two fetched (scanners, say); one of them then shown to a person
    assert client.post(links[0] + "/seen", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 204
    auth.login(owner["email"])
    page = client.get("/insights/").text
    assert "Link fetched" in page and "Opened by a person" in page
    with app.app_context():
        today = utcnow().date()
        totals = report(db.session.connection(), Filter(since=today, until=today)).totals
    assert (totals["invited"], totals["link_fetched"], totals["opened"]) == (3, 2, 1)


def test_review_asks_the_owners_reason(app, client, auth, owner):
    from conftest import log

    cancellation_id = log(app, owner["email"])
    auth.login(owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}/review")
    assert "In your view, what was the main reason?" in page.text


def test_the_digest_is_a_registered_periodic_job(app):
    from feedback.jobs import registered

    jobs = {job.name: job for job in registered()}
    assert jobs["insights.cancellations-digest"].every == timedelta(hours=1)


def test_0011_publishes_the_review_again_with_the_owners_reason(smtp, tmp_path):
    """A database whose review was published before 0011 gets a new version with owner_reason before icp_fit."""
    from conftest import make_config
    from flask_migrate import downgrade, upgrade

    from feedback import create_app
    from feedback.questions.defaults import INTERNAL_REVIEW
    from feedback.questions.operations import latest_version

    app = create_app(make_config(f"sqlite:///{tmp_path}/old.sqlite3", smtp))
    with app.app_context():
        upgrade(revision="0010")
        publish("internal-review", [q for q in INTERNAL_REVIEW if q["key"] != "owner_reason"])
        db.session.commit()
        upgrade()
        live = latest_version("internal-review")
        keys = [question.key for question in live.questions]
        assert live.number == 2 and keys.index("owner_reason") == keys.index("icp_fit") - 1
        assert live.questions[keys.index("owner_reason")].choices == EXIT_SURVEY[0]["choices"]
        db.session.remove()
        downgrade(revision="0010")
        # Read without the model, which knows columns added after 0010.
        numbers = text("SELECT max(number) FROM questionnaire_versions WHERE questionnaire = 'internal-review'")
        assert db.session.scalar(numbers) == 1
        db.session.remove()
        db.engine.dispose()


def test_involuntary_churn_is_counted_apart_and_never_among_the_reasons(app, client, auth, owner, cases):
    before = numbers(app)
    with app.app_context():
        for n in (1, 3):  # a failed payment each, though the customer was asked (an owner may start a survey)
            db.session.get(Cancellation, cases[n]).involuntary = True
        db.session.get(Cancellation, cases[4]).stayed_at = utcnow()  # undone: nobody was lost
        db.session.commit()
    after = numbers(app)
    assert after.totals["cancellations"] == before.totals["cancellations"] - 1
    assert shares(after.churn)["Involuntary"][0::2] == (2, Decimal("350.00"))
    assert shares(after.churn)["Voluntary"][0] == before.totals["cancellations"] - 3
    reasons_before, reasons_after = shares(before.reasons), shares(after.reasons)
    gone = {label: reasons_before[label][0] - reasons_after.get(label, (0,))[0] for label in reasons_before}
    assert (gone[EXP], gone[MISS]) == (1, 1)
    assert MOVE not in reasons_after  # case 4's customer stayed
    assert numbers(app, churn="involuntary").totals["cancellations"] == 2
    assert numbers(app, churn="voluntary").totals["cancellations"] == before.totals["cancellations"] - 3
    auth.login(owner["email"])
    page = client.get("/insights/", query_string={**RANGE, "churn": "involuntary"})
    assert page.status_code == 200 and 'value="involuntary" selected' in page.text
    assert "Voluntary and involuntary" in page.text
    assert client.get("/insights/", query_string={"churn": "both"}).status_code in (200, 400)


def test_counts_read_as_a_person_writes_them():
    from feedback.formatting import plural
    from feedback.insights.takeaways import _times
    from feedback.privacy.erasure import Erased

    assert _times(1, 1) == "1 time in 1" and _times(1_404, 5_000) == "1,404 times in 5,000"
    assert str(Erased(1, 1, 2)) == "1 customer record, 1 cancellation and 2 emails"
    assert plural(0, "line", "lines") == "0 lines" and plural(5000, "row", "rows") == "5,000 rows"
