"""The survey page's GET: at most 2 queries, no lazy loads, and caches that follow changes made elsewhere."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from conftest import deliver, link_in, log, make_config
from sqlalchemy import event, update

from feedback import create_app
from feedback.extensions import db
from feedback.settings.models import SiteSettings


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
    # Once per process and version: the published questions. Then the first look's opened mark.
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
    assert len(first_look) == 2 and first_look[1].startswith("UPDATE invitations SET opened_at"), first_look


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
