"""The migrations and the models describe the same schema, so `flask db upgrade` builds what the code expects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

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
