"""The survey page's GET: at most 2 queries, no lazy loads, and caches that follow changes made elsewhere."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager

import psycopg
import pytest
from conftest import TEST_DATABASE_URL, deliver, link_in, log, make_config
from sqlalchemy import event, select, text, update

from feedback import create_app
from feedback.extensions import db
from feedback.settings.models import SiteSettings
from feedback.surveys.models import Invitation


@pytest.fixture
def survey_path(app, smtp, owner):
    log(app, owner["email"], customer_name="Sam Leaving", customer_email="sam@client.test")
    deliver(app)
    return link_in(smtp.one("sam@client.test")).removeprefix("http://localhost")


@contextmanager
def statements(app):
    """Every SQL statement the app's engine runs meanwhile."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_survey_get_needs_at_most_two_queries_and_loads_nothing_lazily(app, client, smtp, owner, survey_path):
    with statements(app) as first:
        assert client.get(survey_path).status_code == 200
    # Once per process and version: the published questions. Then the first fetch's mark.
    assert len(first) == 3 and first[1].startswith("SELECT questions.") and first[2].startswith("UPDATE"), first
    with statements(app) as again:
        page = client.get(survey_path)
    assert page.status_code == 200 and "Thank you, Sam." in page.text and "Olivia Owner" in page.text
    # The invitation, its cancellation, the owner and the settings row, joined: nothing else, nothing lazy.
    assert len(again) == 1 and "LEFT OUTER JOIN site_settings" in again[0], again

    log(app, owner["email"], customer_name="Kim Other", customer_email="kim@client.test")
    deliver(app)
    fresh_link = link_in(smtp.one("kim@client.test")).removeprefix("http://localhost")
    with statements(app) as first_look:
        assert "Thank you, Kim." in client.get(fresh_link).text
    assert len(first_look) == 2 and first_look[1].startswith("UPDATE invitations SET fetched_at"), first_look


def test_a_settings_change_by_another_process_shows_at_once(app, client, survey_path, database_url, smtp):
    assert "Loomwork" not in client.get(survey_path).text
    elsewhere = create_app(make_config(database_url, smtp))
    with elsewhere.app_context():  # another process: this app's remembered settings know nothing of it
        db.session.merge(SiteSettings(id=1, company_name="Loomwork"))
        db.session.commit()
    assert "Thank you for your time with Loomwork" in client.get(survey_path).text
    with elsewhere.app_context():
        db.session.execute(update(SiteSettings).values(company_name=None))
        db.session.commit()
    assert "Loomwork" not in client.get(survey_path).text


def _driver_autocommits(conn) -> bool:
    """What the driver does with this connection: psycopg's autocommit flag, or pysqlite's isolation_level None."""
    raw = conn.connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection):
        return raw.isolation_level is None
    return bool(raw.autocommit)


def test_a_survey_get_runs_without_a_transaction_and_a_post_within_one(app, client, survey_path):
    """A GET's one query and its one conditional UPDATE need no BEGIN and ROLLBACK around them (two round trips
    of three on PostgreSQL); the answer's several writes stay in one transaction, on a connection the pool reset."""
    seen: list[tuple[str, bool]] = []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0], _driver_autocommits(conn)))

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(survey_path).status_code == 200  # the first fetch: its mark is written
        looked = list(seen)
        seen.clear()
        answered = client.post(survey_path, data={"main_reason": "Something else"})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert looked and all(autocommit for _, autocommit in looked), looked
    assert ("UPDATE", True) in looked
    assert answered.status_code == 303, answered.text
    assert seen and not any(autocommit for _, autocommit in seen), seen
    assert {"INSERT", "UPDATE"} <= {verb for verb, _ in seen}
    with app.app_context():
        opened, done = db.session.execute(
            select(Invitation.opened_at, Invitation.answered_at).where(Invitation.answered_at.is_not(None))
        ).one()
    assert opened is not None and done is not None


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a PostgreSQL server closing a pooled connection")
def test_a_pooled_connection_the_server_closed_is_replaced_before_a_request_uses_it(app, client, survey_path):
    """No pre-ping's SELECT 1 at every checkout: an idle connection the server ended reads as ended, and is
    swapped for a new one, so the customer's page does not fail."""
    with app.app_context():
        before = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()  # back to the pool, idle
    # Another client ends it, as a restart or a DBA would.
    with psycopg.connect(TEST_DATABASE_URL.replace("+psycopg", ""), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", (before,)).fetchone()[0]
    time.sleep(0.2)  # the server's goodbye takes a moment to arrive
    page = client.get(survey_path)
    assert page.status_code == 200 and "Thank you, Sam." in page.text
    with app.app_context():
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != before


def test_the_worker_reads_the_settings_once_per_transaction_and_sees_a_change_at_the_next(app, database_url, smtp):
    """Outside a request (the worker queueing an import's emails), the settings row was asked for again with every
    email when none was saved yet; now once per transaction, and a change another process saves is seen at the
    worker's next one."""
    from feedback.settings.operations import current_settings

    with app.app_context():
        with statements(app) as seen:
            names = {current_settings().company_name for _ in range(50)}
        assert len([s for s in seen if "site_settings" in s]) == 1, seen
        db.session.commit()
        elsewhere = create_app(make_config(database_url, smtp))
        with elsewhere.app_context():
            db.session.merge(SiteSettings(id=1, company_name="Loomwork"))
            db.session.commit()
        assert "Loomwork" not in names
        assert current_settings().company_name == "Loomwork"


def test_a_logged_in_staff_member_opening_a_survey_link_sees_it_too(app, client, survey_path, logged_in_owner):
    """A staff member's session cookie changes nothing: the survey loads no user, so the GET's autocommit
    connection is still the request's first, and the page is the customer's."""
    with statements(app) as seen:
        page = client.get(survey_path)
    assert page.status_code == 200 and "Thank you, Sam." in page.text
    assert seen and not any("FROM users" in statement for statement in seen), seen
