"""What a fuzzer sends the pages: ids past the database's integers, NULs in the address, numbers of 400 digits,
url_for's own arguments in a query string; and what the browser may keep of a colleague's pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import csrf_token, log, submit_form
from werkzeug.exceptions import NotFound

from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.insights.filters import FIELDS

#: PostgreSQL's largest INTEGER, the type of every id column.
MAX_ID = 2**31 - 1
#: One past PostgreSQL's INTEGER, and one past SQLite's (and PostgreSQL's BIGINT): neither can be any row's id.
BEYOND = (MAX_ID + 1, 2**63)


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def int_id_rules(app: Any) -> list[Any]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(type(converter).__name__ != "UnicodeConverter" and hasattr(converter, "num_convert")
               for converter in rule._converters.values())
    ]  # fmt: skip


def url_with(rule: Any, number: int) -> str:
    """The rule's path with `number` for every integer and "x" for any other part (a question set's name)."""

    def part(match: re.Match[str]) -> str:
        converter = rule._converters[match.group(1)]
        return str(number) if hasattr(converter, "num_convert") else "x"

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", part, rule.rule)


def test_every_route_with_an_id_answers_404_to_an_id_no_row_can_have(app, client, logged_in_admin):
    """Walks every route taking an integer, GET and POST, with a valid CSRF token and API token: never a 500."""
    with app.app_context():
        _, api_token = create_token("Fuzzer")
        db.session.commit()
    rules = int_id_rules(app)
    assert len(rules) >= 20  # /cancellations/<id>, /actions/<id>/edit, /admin/email/<id>…
    token = csrf_token(client.get("/cancellations/").text)
    answers = {}
    for rule in rules:
        for number in BEYOND:
            url = url_with(rule, number)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(
                    url, method=method, data={"csrf_token": token}, headers={"Authorization": f"Bearer {api_token}"}
                )
                answers[(method, url)] = response.status_code
    assert {request: status for request, status in answers.items() if status != 404} == {}


def test_the_id_converter_refuses_what_no_integer_column_holds(app):
    """The routing itself, on any database: the largest INTEGER still reaches its page, one more reaches none."""
    adapter = app.url_map.bind("localhost")
    assert adapter.match(f"/cancellations/{MAX_ID}") == ("cancellations.detail", {"cancellation_id": MAX_ID})
    assert adapter.match(f"/actions/{MAX_ID}/edit", method="POST")[1] == {"item_id": MAX_ID}
    for number in BEYOND:
        for path in (f"/cancellations/{number}", f"/admin/email/{number}", f"/actions/{number}/edit"):
            with pytest.raises(NotFound):
                adapter.match(path)


@pytest.mark.parametrize("limit", [0, 1, 9, 10, 19, 20, 99, 100, 205, 2019, 10000, 31415])
def test_the_id_pattern_takes_exactly_the_numbers_up_to_its_limit(limit):
    from feedback.urls import digits_up_to

    pattern = re.compile(digits_up_to(limit))
    assert [n for n in range(0, 10 * limit + 20) if (pattern.fullmatch(str(n)) is not None) != (n <= limit)] == []


@pytest.mark.parametrize(
    "path",
    [
        "/actions/?owner=%00",
        "/cancellations/?reason=%00",
        "/admin/audit?action=%00",
        "/insights/?owner=a%00b",
        "/admin/email/?q=%00",
        "/cancellations/?%00=1",
    ],
)
def test_a_nul_in_the_query_is_a_kind_400_page(client, logged_in_admin, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.mimetype == "text/html" and "make sense to us" in response.text
    assert "The address held a NUL character" in response.text


def test_numbers_of_any_size_on_the_settings_page_are_refused_beside_their_fields(client, logged_in_admin):
    response = submit_form(
        client, "/admin/settings/", {"survey_delay_minutes": "9" * 400, "survey_link_days": "-" + "9" * 400}
    )
    assert response.status_code == 422
    assert "Between 0 and 10,080 minutes (one week)." in response.text
    assert "Between 1 and 365 days." in response.text
    within = submit_form(client, "/admin/settings/", {"survey_delay_minutes": "10080", "survey_link_days": "365"})
    assert within.status_code == 302


# --- The digest button ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["_method=PUT", "_scheme=&_external=1", "_scheme=javascript&_external=1&_anchor=x"])
def test_the_digest_button_redirects_to_the_insights_page_whatever_the_query_says(client, logged_in_admin, query):
    token = csrf_token(client.get("/insights/").text)
    response = client.post(f"/insights/digest?{query}", data={"csrf_token": token, "wants_digest": "yes"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path, location.fragment) == ("", "", "/insights/", "")
    assert not [name for name in parse_qs(location.query) if name.startswith("_")]


def test_the_digest_button_keeps_the_filter_it_was_pressed_under(client, logged_in_admin, owner):
    token = csrf_token(client.get("/insights/").text)
    query = f"since=2026-01-01&until=2026-03-31&owner={owner['email']}&plan=Pro&nonsense=1"
    response = client.post(f"/insights/digest?{query}", data={"csrf_token": token, "wants_digest": "no"})
    kept = parse_qs(urlsplit(response.headers["Location"]).query)
    assert kept == {"since": ["2026-01-01"], "until": ["2026-03-31"], "owner": [owner["email"]], "plan": ["Pro"]}
    assert set(kept) <= set(FIELDS)


# --- What the browser keeps -------------------------------------------------------------------------------


def test_pages_with_customer_data_are_never_stored_by_the_browser(app, client, auth, admin, owner):
    cancellation_id = log(app, owner["email"])
    assert "Cache-Control" not in client.get("/login").headers  # nothing of anyone's yet
    auth.login(admin["email"])
    for path in (f"/cancellations/{cancellation_id}", "/insights/", "/admin/audit", "/insights/export.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_every_staff_page_says_no_store(app, client, logged_in_admin):
    """Every page without a parameter in its path, opened by a signed-in admin; the style sheet may be kept."""
    paths = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static" and "/dev/" not in rule.rule
    ]
    assert len(paths) > 20
    stored = {path: client.get(path).headers.get("Cache-Control") for path in paths}
    assert {path: value for path, value in stored.items() if value != "no-store"} == {}
    assert client.get("/static/style.css").headers.get("Cache-Control") != "no-store"
