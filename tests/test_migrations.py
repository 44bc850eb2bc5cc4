"""The migrations and the models describe the same schema, so `flask db upgrade` builds what the code expects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
