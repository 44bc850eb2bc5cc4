"""Fixtures: a fresh database per test, a real SMTP server on loopback, staff who can log in."""

from __future__ import annotations

import ast
import email
import gc
import os
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from feedback import create_app
from feedback.auth.operations import create_user
from feedback.cancellations.operations import NewCancellation, log_cancellation
from feedback.extensions import db


def _parse_without_collecting(*args: Any, **kwargs: Any) -> Any:
    """`ast.parse` with the garbage collector paused for the call (Werkzeug's routing and Hypothesis call it).

    On CPython 3.11 a collection that runs in the middle of building the AST objects (a finalizer, a switch to one of
    the tests' server threads) can leave the constructor's depth counter off, and the parse fails with "SystemError:
    AST constructor recursion depth mismatch" (python/cpython#106905): a failure of the interpreter, in whatever
    test happened to be parsing, never of Farewell. Pausing collection for the parse leaves nothing to interleave.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _ast_parse(*args, **kwargs)
    finally:
        if collecting:
            gc.enable()


_ast_parse = ast.parse
ast.parse = _parse_without_collecting  # type: ignore[assignment]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PASSWORD = "correct horse battery"


# --- SMTP -------------------------------------------------------------------------------------------


class SMTPSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives, for tests to read like an inbox."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        #: Addresses this server refuses for good (550), as a real server refuses an unknown mailbox.
        self.rejected: set[str] = set()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.rejected:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self._lock:
            self.received.append(message)  # type: ignore[arg-type]
            self.envelopes.append(envelope)
        return "250 Message accepted"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        self.rejected.clear()
        with self._lock:
            self.received.clear()
            self.envelopes.clear()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.received)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def one(self, to: str, subject_contains: str = "") -> EmailMessage:
        found = [m for m in self.to(to) if subject_contains in str(m["Subject"])]
        assert len(found) == 1, f"expected one message to {to} about {subject_contains!r}, got {len(found)}"
        return found[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no plain-text part"
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the email has no HTML part"
    return part.get_content()


def link_in(message: EmailMessage, pattern: str = r"http://localhost/s/[^\s]+") -> str:
    match = re.search(pattern, text_part(message))
    assert match, f"no link matching {pattern} in:\n{text_part(message)}"
    return match.group(0)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_server: SMTPSink) -> SMTPSink:
    smtp_server.clear()
    return smtp_server


# --- Languages ------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """`make` compiles the message catalogues; a checkout run straight with pytest may have none, or stale ones."""
    from feedback.i18n import compile_catalogues

    compile_catalogues(only_stale=True)


# --- Database ---------------------------------------------------------------------------------------


def _postgres_reachable(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        pytest.exit(f"TEST_DATABASE_URL is set but PostgreSQL does not answer: {error}", returncode=3)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Migrates once per run, with the real migrations; each test then gets the schema fresh."""
    if TEST_DATABASE_URL:
        _postgres_reachable(TEST_DATABASE_URL)
        engine = create_engine(TEST_DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(TEST_DATABASE_URL)
        return {"kind": "postgresql", "url": TEST_DATABASE_URL}
    template = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _migrate(f"sqlite:///{template}")
    return {"kind": "sqlite", "template": template}


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"FAREWELL_ENV": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database: dict[str, Any], tmp_path: Path) -> str:
    if database["kind"] == "postgresql":
        _empty_postgres(database["url"])
        return database["url"]
    path = tmp_path / "farewell.sqlite3"
    shutil.copy(database["template"], path)
    return f"sqlite:///{path}"


# --- App ------------------------------------------------------------------------------------------


def flask_command(database_url: str, smtp: SMTPSink, *args: str, **settings: str) -> tuple[list[str], dict[str, str]]:
    """A `flask …` command line and its environment, to run as a process of its own (a Procfile's line, a pipe)."""
    env = {
        **os.environ,
        "FAREWELL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": str(smtp.port),
        "BASE_URL": "http://localhost",
        **settings,
    }
    return [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", *args], env


def make_config(database_url: str, smtp: SMTPSink, **overrides: Any) -> dict[str, Any]:
    config = {
        "FAREWELL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://localhost",
        "COMPANY_NAME": "Acme Analytics",
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": smtp.port,
        "MAIL_BACKEND": "smtp",
        "MAIL_DEFAULT_SENDER": "hello@acme.test",
        "MAIL_TIMEOUT": 5,
        # Most tests log in, link and call the API far faster than anyone would: tests/test_security.py turns it on.
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(database_url: str, smtp: SMTPSink) -> dict[str, Any]:
    """Tests may change this before the first use of `app`."""
    return make_config(database_url, smtp)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# --- People and cancellations -------------------------------------------------------------------------


@pytest.fixture
def owner(app: Flask) -> dict[str, Any]:
    with app.app_context():
        user = create_user("olivia@acme.test", "Olivia Owner", "owner", PASSWORD)
        db.session.commit()
        return {"id": user.id, "email": user.email, "name": user.name, "password": PASSWORD}


@pytest.fixture
def other_owner(app: Flask) -> dict[str, Any]:
    with app.app_context():
        user = create_user("oscar@acme.test", "Oscar Other", "owner", PASSWORD)
        db.session.commit()
        return {"id": user.id, "email": user.email, "name": user.name, "password": PASSWORD}


@pytest.fixture
def admin(app: Flask) -> dict[str, Any]:
    with app.app_context():
        user = create_user("ada@acme.test", "Ada Admin", "admin", PASSWORD)
        db.session.commit()
        return {"id": user.id, "email": user.email, "name": user.name, "password": PASSWORD}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def submit_form(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    """What a person does: open the form's page, then send it with that page's CSRF token."""
    page = client.get(path)
    token = {"csrf_token": csrf_token(page.text)} if 'name="csrf_token"' in page.text else {}  # not the survey's
    return client.post(path, data={**token, **data})


class AuthActions:
    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, next_url: str | None = None) -> Any:
        url = "/login" + (f"?next={quote(next_url, safe='/')}" if next_url else "")
        return submit_form(self.client, url, {"email": email, "password": password})

    def logout(self) -> Any:
        page = self.client.get("/cancellations/")
        return self.client.post("/logout", data={"csrf_token": csrf_token(page.text)})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def logged_in_owner(auth: AuthActions, owner: dict[str, Any]) -> dict[str, Any]:
    response = auth.login(owner["email"])
    assert response.status_code == 302
    return owner


def log(app: Flask, owner_email: str, **fields: Any) -> int:
    """Logs a cancellation through the same operation the form and the CLI use."""
    values = {"customer_name": "Casey Customer", "customer_email": "casey@client.test", "company": "Client Co"}
    values.update(fields)
    with app.app_context():
        cancellation_id = log_cancellation(NewCancellation(owner_email=owner_email, **values)).id
        db.session.commit()
        return cancellation_id


def deliver(app: Flask, now: Any = None) -> Any:
    """What `flask outbox send` does, in-process."""
    from feedback.mail.cli import run_once

    with app.app_context():
        return run_once(now)


def run_jobs(app: Flask, now: Any = None) -> dict[str, str]:
    """What `flask jobs run` does, in-process: each job that was due, with its report (every one must succeed)."""
    from feedback.jobs import run_due

    with app.app_context():
        results = run_due(now)
    assert all(result.ok for result in results), [str(result) for result in results]
    return {result.name: result.report for result in results}


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
