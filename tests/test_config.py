"""Settings come from the environment, with safe defaults in development and hard errors in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "rate_limits": {"storage": "memory", "counting": "off"},  # the tests' own setting
        "outbox": {"oldest_due_seconds": 0},
        "jobs": {},
    }


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


def test_a_staff_404_speaks_in_farewells_voice_with_a_way_back(client, logged_in_owner):
    for path in ("/no/such/page", "/admin/tokens/999/revoke-nothing", "/cancellations/99999"):
        page = client.get(path)
        assert page.status_code == 404
        assert "requested URL was not found" not in page.text and "check your spelling" not in page.text
        assert "The address may be mistyped" in page.text or "couldn" in page.text
        assert 'href="/">Go to the start page</a>' in page.text


# --- The command line from a checkout -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).parent / "flask"


def flask_command(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` as a person types it in `checkout`: no Farewell settings in their shell."""
    env = {k: v for k, v in os.environ.items() if k not in {"FAREWELL_ENV", "SECRET_KEY", "DATABASE_URL"}}
    env["DATABASE_URL"] = f"sqlite:///{checkout / 'farewell.sqlite3'}"
    return subprocess.run(
        [str(FLASK), "--app", "wsgi", *args], cwd=checkout, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """wsgi.py and the Makefile in a folder of their own, so that the repository's own .env is not read."""
    for name in ("wsgi.py", "Makefile"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    return tmp_path


def test_a_missing_setting_is_one_clear_line_not_a_traceback(checkout):
    for args in (["--help"], ["outbox", "status"]):
        result = flask_command(checkout, *args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert result.stderr.startswith("Error: SECRET_KEY is not set.") and "make run" in result.stderr


def test_make_run_writes_a_dotenv_once_and_the_cli_reads_it(checkout):
    make = subprocess.run(["make", "-s", ".env", f"PYTHON={sys.executable}"], cwd=checkout, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert make.returncode == 0, make.stderr
    written = (checkout / ".env").read_text()
    assert "FAREWELL_ENV=development" in written
    secret = next(line for line in written.splitlines() if line.startswith("SECRET_KEY="))
    assert len(secret) > len("SECRET_KEY=") + 40 and DEVELOPMENT_SECRET_KEY not in secret
    subprocess.run(["make", "-s", ".env"], cwd=checkout, check=True, capture_output=True, timeout=60)
    assert (checkout / ".env").read_text() == written  # never overwritten

    listing = flask_command(checkout, "--help")
    assert listing.returncode == 0, listing.stderr
    assert "outbox" in listing.stdout and "Traceback" not in listing.stderr
    assert flask_command(checkout, "db", "upgrade").returncode == 0
    status = flask_command(checkout, "outbox", "status")
    assert status.returncode == 0, status.stderr


def test_gunicorn_still_gets_the_error_itself(checkout):
    """A server importing wsgi outside the flask command: the exception, so that a worker that can't boot stops."""
    env = {k: v for k, v in os.environ.items() if k not in {"FAREWELL_ENV", "SECRET_KEY"}}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode != 0 and "feedback.config.ConfigError: SECRET_KEY is not set" in result.stderr


def test_the_license_is_an_spdx_string_which_setuptools_reads_without_warning():
    """A TOML table here made setuptools warn three times on every install; the string needs setuptools 77."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]


FAKE_FLASK = """#!{python}
import pathlib, sys, time
pathlib.Path("{calls}").open("a").write(" ".join(sys.argv[1:]) + "\\n")
if "run" in sys.argv or "worker" in sys.argv:
    try:
        time.sleep(60)
    except KeyboardInterrupt:
        sys.exit(0)
"""


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_make_run_takes_a_port_and_stops_cleanly(tmp_path, stop):
    """`make run PORT=5701` serves there; Ctrl-C (or a terminal's TERM) ends it without "make: *** Error 143"."""
    import signal
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "flask").write_text(FAKE_FLASK.format(python=sys.executable, calls=calls))
    (bin_dir / "pybabel").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    (tmp_path / ".env").write_text("FAREWELL_ENV=development\n")
    makefile = Path(__file__).parent.parent / "Makefile"
    overrides = ["RUNTIME_STAMP=", f"BIN={bin_dir}", f"FLASK={bin_dir / 'flask'}", "PORT=5701"]
    with subprocess.Popen(
        ["make", "--no-print-directory", "-f", str(makefile), "run", *overrides],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as make:
        for _ in range(200):  # until the server and the worker are both up
            if (
                calls.exists()
                and sum(" run " in f" {c} " or "worker" in c for c in calls.read_text().splitlines()) == 2
            ):
                break
            time.sleep(0.05)
        os.killpg(make.pid, getattr(signal, stop))  # as the terminal does: the whole foreground group
        output, _ = make.communicate(timeout=30)
    assert "http://127.0.0.1:5701" in output and "run --host 127.0.0.1 --port 5701" in calls.read_text()
    assert "Error" not in output, output


def test_base_url_follows_the_port_unless_it_is_set(monkeypatch, tmp_path):
    from feedback.config import from_environment

    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "5701")
    assert from_environment(str(tmp_path))["BASE_URL"] == "http://127.0.0.1:5701"
    monkeypatch.setenv("BASE_URL", "https://farewell.acme.test/")
    assert from_environment(str(tmp_path))["BASE_URL"] == "https://farewell.acme.test"


def test_make_run_installs_the_runtime_only():
    """The app's dependencies for `make run`; Playwright, schemathesis and ruff only for `make test`."""
    makefile = Path(__file__).parent.parent / "Makefile"
    run = subprocess.run(["make", "-n", "-B", "-f", str(makefile), "run"], capture_output=True, text=True, check=True)
    installs = [line for line in run.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all(line.endswith(" -e .") for line in installs), installs
    test = subprocess.run(["make", "-n", "-B", "-f", str(makefile), "test"], capture_output=True, text=True, check=True)
    assert "-e '.[test]'" in test.stdout


def test_make_reset_demo_remakes_only_the_development_sqlite_file(tmp_path):
    """Fresh demo data without `make clean` (which removes the virtual environment too)."""
    makefile = Path(__file__).parent.parent / "Makefile"
    (tmp_path / ".env").write_text("FAREWELL_ENV=development\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    dry = subprocess.run(["make", "-n", "-f", str(makefile), "reset-demo", "RUNTIME_STAMP="], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    commands = dry.stdout.split("\n")
    assert any(c.startswith("rm -f instance/farewell.sqlite3") for c in commands), dry.stdout
    assert any(c.endswith("flask --app wsgi db upgrade") for c in commands)
    assert any(c.endswith("flask --app wsgi demo") for c in commands)
    production = {**env, "DATABASE_URL": "postgresql://u@db/prod"}
    refused = subprocess.run(["make", "-f", str(makefile), "reset-demo", "RUNTIME_STAMP="], cwd=tmp_path,
                             env=production, capture_output=True, text=True)  # fmt: skip
    assert refused.returncode != 0 and "nothing was removed" in refused.stderr
