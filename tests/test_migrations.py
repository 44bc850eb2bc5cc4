"""The migrations and the models describe the same schema, so `flask db upgrade` builds what the code expects."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from feedback.extensions import db


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_flask_db_upgrade_on_an_empty_database(smtp, tmp_path):
    from conftest import make_config

    from feedback import create_app

    app = create_app(make_config(f"sqlite:///{tmp_path}/new.sqlite3", smtp))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tables = set(db.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {"cancellations", "invitations", "survey_responses", "reviews", "summaries", "outbox_messages"} <= tables


def test_0006_moves_stored_mail_into_outbox_contents_and_back(smtp, tmp_path):
    """Mail queued before the upgrade keeps its content (SQLite must not lose it to a table copy), and downgrades."""
    from conftest import make_config
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from feedback import create_app
    from feedback.mail.models import OutboxMessage

    app = create_app(make_config(f"sqlite:///{tmp_path}/old.sqlite3", smtp))
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO outbox_messages (kind, recipient, recipient_name, subject, body_text, body_html, "
                    "message_id, status, attempts, last_error, created_at, due_at, mime) VALUES ('summary', "
                    "'owner@example.test', '', 'Queued before', 'Plain words', '<p>Rich words</p>', '<old@x>', "
                    "'queued', 0, '', '2026-11-01 10:00:00', '2026-11-01 10:00:00', :mime)"
                ),
                {"mime": b"Subject: Queued before\r\n\r\nPlain words"},
            )
        upgrade()
        message = db.session.scalars(select(OutboxMessage)).one()
        assert (message.content.body_text, message.content.body_html) == ("Plain words", "<p>Rich words</p>")
        assert message.content.mime == b"Subject: Queued before\r\n\r\nPlain words"
        db.session.remove()

        downgrade(revision="0005")
        with db.engine.connect() as connection:
            row = connection.execute(text("SELECT body_text, body_html, mime FROM outbox_messages")).one()
            assert "outbox_contents" not in db.inspect(connection).get_table_names()
        assert tuple(row) == ("Plain words", "<p>Rich words</p>", b"Subject: Queued before\r\n\r\nPlain words")
        db.engine.dispose()


@pytest.fixture
def scratch_database_url(database, tmp_path):
    """An empty database of the kind under test: a SQLite file, or a PostgreSQL schema of its own."""
    if database["kind"] == "sqlite":
        yield f"sqlite:///{tmp_path}/scratch.sqlite3"
        return
    engine = create_engine(database["url"])
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS migration_scratch CASCADE"))
        connection.execute(text("CREATE SCHEMA migration_scratch"))
    separator = "&" if "?" in database["url"] else "?"
    yield f"{database['url']}{separator}options=-csearch_path%3Dmigration_scratch"
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA migration_scratch CASCADE"))
    engine.dispose()


def test_0010_turns_each_line_of_what_must_change_into_an_item(smtp, scratch_database_url):
    """Nothing typed is lost: one open item per non-empty line, owned by the postmortem's owner, no due date."""
    from conftest import make_config
    from flask_migrate import downgrade, upgrade

    from feedback import create_app
    from feedback.actions.models import ActionItem

    app = create_app(make_config(scratch_database_url, smtp))
    with app.app_context():
        upgrade(revision="0009")
        answers = {"this_week": "Price", "action_items": "Call before price changes\n\n  - Offer a smaller plan  \n"}
        with db.engine.begin() as connection:
            for statement in (
                "INSERT INTO users (id, email, name, password_hash, role, active, created_at) VALUES "
                "(1, 'olivia@acme.test', 'Olivia', 'x', 'owner', true, '2026-11-01 10:00:00')",
                "INSERT INTO questionnaire_versions (id, questionnaire, number, published_at) VALUES "
                "(1, 'internal-review', 1, '2026-11-01 10:00:00')",
                "INSERT INTO cancellations (id, customer_name, customer_email, company, plan, reason, complaint, "
                "owner_id, source, state, cancelled_at, created_at, feedback, comment) VALUES (1, 'Casey', "
                "'casey@client.test', '', '', '', '', 1, 'web', 'reviewed', '2026-11-01 10:00:00', "
                "'2026-11-01 10:00:00', '', '')",
                "INSERT INTO cancellations (id, customer_name, customer_email, company, plan, reason, complaint, "
                "owner_id, source, state, cancelled_at, created_at, feedback, comment) VALUES (2, 'Dana', "
                "'dana@client.test', '', '', '', '', 1, 'web', 'reviewed', '2026-11-01 10:00:00', "
                "'2026-11-01 10:00:00', '', '')",
            ):
                connection.execute(text(statement))
            insert_review = text(
                "INSERT INTO reviews (cancellation_id, version_id, author_id, answers, submitted_at) "
                "VALUES (:cancellation, 1, 1, :answers, '2026-11-02 09:00:00')"
            )
            connection.execute(insert_review, {"cancellation": 1, "answers": json.dumps(answers)})
            connection.execute(insert_review, {"cancellation": 2, "answers": json.dumps({"this_week": "Quiet"})})
        upgrade(revision="0010")  # 0010 alone: rows given ids by hand leave PostgreSQL's sequences behind
        items = db.session.scalars(select(ActionItem).order_by(ActionItem.id)).all()
        assert [(i.title, i.owner_id, i.due_on, i.status, i.source, i.cancellation_id) for i in items] == [
            ("Call before price changes", 1, None, "open", "migration", 1),
            ("Offer a smaller plan", 1, None, "open", "migration", 1),
        ]
        db.session.remove()

        downgrade(revision="0009")
        with db.engine.connect() as connection:
            assert "action_items" not in db.inspect(connection).get_table_names()
            kept = connection.execute(text("SELECT answers FROM reviews WHERE cancellation_id = 1")).scalar()
        assert "Offer a smaller plan" in (kept if isinstance(kept, str) else json.dumps(kept))
        db.engine.dispose()


def test_0016_renames_the_digest_jobs_rows_and_keeps_when_they_are_due(smtp, scratch_database_url):
    """The scheduler keys job_runs on the name: without the rename the renamed jobs would run at once, afresh."""
    from conftest import make_config
    from flask_migrate import downgrade, upgrade

    from feedback import create_app

    app = create_app(make_config(scratch_database_url, smtp))
    with app.app_context():
        upgrade(revision="0015")
        insert = text("INSERT INTO job_runs (name, next_due_at, last_report) VALUES (:name, :due, :report)")
        with db.engine.begin() as connection:
            connection.execute(insert, {"name": "actions.weekly-digest", "due": "2026-12-07 08:00:00", "report": "a"})
            connection.execute(insert, {"name": "insights.weekly-digest", "due": "2026-12-07 09:00:00", "report": "b"})
            # A worker of the new code ran before the upgrade: its row stays, the old one goes.
            connection.execute(
                insert, {"name": "insights.cancellations-digest", "due": "2026-12-07 10:00:00", "report": "new"}
            )
            connection.execute(insert, {"name": "surveys.lapse-links", "due": "2026-12-07 07:00:00", "report": "c"})
        upgrade(revision="0016_digest_job_names")
        rows = "SELECT name, last_report FROM job_runs ORDER BY name"
        with db.engine.connect() as connection:
            assert [tuple(row) for row in connection.execute(text(rows))] == [
                ("actions.open-items-digest", "a"),
                ("insights.cancellations-digest", "new"),
                ("surveys.lapse-links", "c"),
            ]
        downgrade(revision="0015")
        with db.engine.connect() as connection:
            assert [tuple(row) for row in connection.execute(text(rows))] == [
                ("actions.weekly-digest", "a"),
                ("insights.weekly-digest", "new"),
                ("surveys.lapse-links", "c"),
            ]
        db.engine.dispose()


def test_0017_lets_a_message_be_unreadable_and_keeps_every_reply(smtp, scratch_database_url):
    """SQLite copies inbound_messages to change its check; the replies that point at it must survive that."""
    from conftest import make_config
    from flask_migrate import downgrade, upgrade

    from feedback import create_app

    app = create_app(make_config(scratch_database_url, smtp))
    unreadable = (
        "INSERT INTO inbound_messages (id, message_id, via, envelope_recipient, raw, size, truncated, received_at, "
        "processed_at, status, from_address, subject, text, attachments, note) VALUES (2, 'deep@x.test', 'pipe', "
        "'', :raw, 3, false, '2026-11-03 10:00:00', '2026-11-03 10:00:00', 'unreadable', '', '', '', '[]', 'deep')"
    )
    with app.app_context():
        upgrade(revision="0016_digest_job_names")
        with db.engine.begin() as connection:
            for statement in (
                "INSERT INTO users (id, email, name, password_hash, role, active, created_at) VALUES "
                "(1, 'olivia@acme.test', 'Olivia', 'x', 'owner', true, '2026-11-01 10:00:00')",
                "INSERT INTO cancellations (id, customer_name, customer_email, company, plan, reason, complaint, "
                "owner_id, source, state, cancelled_at, created_at, feedback, comment) VALUES (1, 'Casey', "
                "'casey@client.test', '', '', '', '', 1, 'web', 'reviewed', '2026-11-01 10:00:00', "
                "'2026-11-01 10:00:00', '', '')",
                "INSERT INTO inbound_messages (id, message_id, via, envelope_recipient, raw, size, truncated, "
                "received_at, processed_at, status, from_address, subject, text, attachments, note) VALUES (1, "
                "'r@x.test', 'pipe', '', :raw, 3, false, '2026-11-02 10:00:00', '2026-11-02 10:00:00', 'reply', "
                "'casey@client.test', 'Re', 'Too dear', '[]', '')",
                "INSERT INTO customer_replies (id, cancellation_id, inbound_message_id, from_address, subject, text, "
                "attachments, received_at) VALUES (1, 1, 1, 'casey@client.test', 'Re', 'Too dear', '[]', "
                "'2026-11-02 10:00:00')",
            ):
                connection.execute(text(statement), {"raw": b"raw"})
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(text(unreadable), {"raw": b"raw"})
        upgrade(revision="0017_inbound_unreadable")
        with db.engine.begin() as connection:
            connection.execute(text(unreadable), {"raw": b"raw"})
            assert connection.execute(text("SELECT text FROM customer_replies")).scalars().all() == ["Too dear"]
        downgrade(revision="0016_digest_job_names")
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT status, note FROM inbound_messages ORDER BY id")).all()
            assert [tuple(row) for row in rows] == [("reply", ""), ("failed", "Unreadable: deep")]
            assert connection.execute(text("SELECT count(*) FROM customer_replies")).scalar() == 1
        db.engine.dispose()


def test_0022_gives_the_tokens_made_before_scopes_every_scope(smtp, scratch_database_url):
    """A billing system's token kept working through the upgrade: it could do everything, and still can."""
    from conftest import make_config
    from flask_migrate import downgrade, upgrade

    from feedback import create_app
    from feedback.api.models import ApiToken
    from feedback.api.scopes import SCOPES

    app = create_app(make_config(scratch_database_url, smtp))
    with app.app_context():
        upgrade(revision="0021_helpdesk")
        with db.engine.begin() as connection:
            for number in (1, 2):
                connection.execute(
                    text(
                        "INSERT INTO api_tokens (id, name, token_hash, prefix, created_at) VALUES "
                        "(:id, 'Billing', :hash, 'fw_x', '2026-11-01 10:00:00')"
                    ),
                    {"id": number, "hash": str(number) * 64},
                )
        upgrade(revision="0022_api_token_scopes")
        assert [token.scopes for token in db.session.scalars(select(ApiToken).order_by(ApiToken.id))] == [
            list(SCOPES),
            list(SCOPES),
        ]
        db.session.remove()
        downgrade(revision="0021_helpdesk")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 2
        db.engine.dispose()
