"""Settings come from the environment, with safe defaults in development and hard errors in production."""

from __future__ import annotations

import pytest
from conftest import make_config

from feedback import create_app
from feedback.config import DEVELOPMENT_SECRET_KEY, ConfigError


def test_production_refuses_to_start_without_a_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("FAREWELL_ENV", "production")
    monkeypatch.setenv("MAIL_SERVER", "smtp.acme.test")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
    with pytest.raises(ConfigError, match="development default"):
        create_app()


def test_production_needs_an_smtp_server(monkeypatch):
    monkeypatch.setenv("FAREWELL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    with pytest.raises(ConfigError, match="MAIL_SERVER"):
        create_app()


def test_development_defaults(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "MAIL_SERVER", "BASE_URL", "SURVEY_LINK_DAYS", "SURVEY_DELAY_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAREWELL_ENV", "development")
    app = create_app()
    assert app.config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/farewell.sqlite3")
    assert app.config["MAIL_BACKEND"] == "local"
    assert app.config["SURVEY_LINK_DAYS"] == 30
    assert app.config["SURVEY_DELAY_MINUTES"] == 0
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_settings_are_read_and_checked(monkeypatch):
    monkeypatch.setenv("FAREWELL_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.acme.test/farewell")
    monkeypatch.setenv("SURVEY_LINK_DAYS", "14")
    monkeypatch.setenv("MAIL_SERVER", "smtp.acme.test")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.acme.test/farewell"
    assert app.config["SURVEY_LINK_DAYS"] == 14
    assert (app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"], app.config["MAIL_BACKEND"]) == (587, True, "smtp")
    monkeypatch.setenv("SURVEY_LINK_DAYS", "soon")
    with pytest.raises(ConfigError, match="SURVEY_LINK_DAYS must be a whole number"):
        create_app()


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "outbox": {"oldest_due_seconds": 0}, "jobs": {}}


def test_healthz_answers_503_when_the_database_does_not(smtp, tmp_path):
    broken = create_app(make_config(f"sqlite:///{tmp_path}/missing/dir/farewell.sqlite3", smtp))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_unknown_pages_get_a_kind_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We couldn&#39;t find that page" in response.text


def test_a_lease_shorter_than_the_send_margin_is_refused_at_start(database_url, smtp):
    """30 s, the smallest lease, with the default 10 s timeout: the worker would claim every batch and send nothing."""
    with pytest.raises(ConfigError) as refused:
        create_app(make_config(database_url, smtp, OUTBOX_LEASE_SECONDS=30, MAIL_TIMEOUT=10))
    assert str(refused.value) == (
        "OUTBOX_LEASE_SECONDS (30) must be longer than 4 x MAIL_TIMEOUT (40 s), or the worker claims mail and never "
        "sends it; raise it or lower MAIL_TIMEOUT."
    )
    assert create_app(make_config(database_url, smtp, OUTBOX_LEASE_SECONDS=41, MAIL_TIMEOUT=10))
