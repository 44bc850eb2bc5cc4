"""Fixtures: a fresh database per test, a real SMTP server on loopback, staff who can log in."""

from __future__ import annotations

import ast
import email
import fcntl
import gc
import os
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, make_url, text
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
#: The PostgreSQL database the run is given (empty: SQLite). Each worker tests in a database of its own named after
#: it (`test_gw0`, …), cloned from `test_template`; this one only serves to create them.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
#: The Redis the rate-limit tests count in; every test keeps its keys under a prefix of its own, so workers share it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/15"
#: This process's name among pytest-xdist's workers (gw0, gw1, …), or "main" when the run is not parallel.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
PASSWORD = "correct horse battery"


# --- One run, several workers ---------------------------------------------------------------------


def run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the whole run shares: pytest-xdist gives each worker its own temporary folder inside the run's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if WORKER != "main" else base


@contextmanager
def one_worker_at_a_time(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[None]:
    """Held while a worker builds what the run shares (the first builds it, the others wait, then find it made)."""
    with (run_directory(tmp_path_factory) / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
def compiled_catalogues(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`make` compiles the message catalogues; a checkout run straight with pytest may have none, or stale ones.

    One worker at a time: writing a .mo truncates it first, and another worker's test must not read it half-written.
    """
    from feedback.i18n import compile_catalogues

    with one_worker_at_a_time(tmp_path_factory, "catalogues"):
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
    """Migrates once per run, with the real migrations, into a template; each test then gets the schema fresh.

    SQLite: the first worker migrates a template file that every test copies. PostgreSQL: the first worker migrates
    `<name>_template`, and each worker clones its own `<name>_<worker>` from it (`CREATE DATABASE … TEMPLATE`, far
    quicker than migrating), which its tests empty before each one: workers never see each other's rows.
    """
    if TEST_DATABASE_URL:
        _postgres_reachable(TEST_DATABASE_URL)
        return {"kind": "postgresql", "url": _worker_postgres_database(tmp_path_factory)}
    template = run_directory(tmp_path_factory) / "template.sqlite3"
    with one_worker_at_a_time(tmp_path_factory, "database"):
        if not template.exists():
            migrating = template.with_name(f"migrating-{WORKER}.sqlite3")
            _migrate(f"sqlite:///{migrating}")
            migrating.rename(template)
    return {"kind": "sqlite", "template": template}


def _worker_postgres_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This worker's own database, a copy of the run's migrated template (made by the first worker to get here)."""
    base = make_url(TEST_DATABASE_URL)
    template, own = f"{base.database}_template", f"{base.database}_{WORKER}"
    migrated = run_directory(tmp_path_factory) / "postgresql-template-migrated"
    # CREATE and DROP DATABASE cannot run inside a transaction; the given database is only where they are issued.
    server = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with one_worker_at_a_time(tmp_path_factory, "database"):
            if not migrated.exists():  # a template left by an earlier run may predate a migration: made afresh
                with server.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
                    connection.execute(text(f'CREATE DATABASE "{template}"'))
                _migrate(base.set(database=template).render_as_string(hide_password=False))
                migrated.touch()
            # A copy needs the template to have no connection open, so the copies are made one at a time too.
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{own}" TEMPLATE "{template}"'))
    finally:
        server.dispose()
    return base.set(database=own).render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"FAREWELL_ENV": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


#: Other sessions on a worker's database that a test left inside a transaction: such a session holds its locks, and
#: the next test's TRUNCATE would wait for it for ever (a whole CI run once hung on one).
_LEFT_IN_TRANSACTION = text(
    "SELECT pid, left(query, 200) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
)


def _end_sessions_left_in_transaction(engine: Any) -> list[str]:
    """Ends the sessions a test left idle inside a transaction, and names their last statement."""
    with engine.connect() as connection:
        left = connection.execute(_LEFT_IN_TRANSACTION).all()
        for pid, _query in left:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection.commit()
    return [query for _pid, query in left]


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        _end_sessions_left_in_transaction(engine)
        with engine.begin() as connection:
            # A lock still held after that fails this test after a while instead of hanging the whole run.
            connection.execute(text("SET LOCAL lock_timeout = '60s'"))
            tables = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(database: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    if database["kind"] == "postgresql":
        _empty_postgres(database["url"])
        yield database["url"]
        # Whatever the test opened is closed by now (the app's engine is disposed first): a session still inside a
        # transaction was leaked by this test, a fault of its own that would block the next one.
        engine = create_engine(database["url"])
        try:
            left = _end_sessions_left_in_transaction(engine)
        finally:
            engine.dispose()
        if left:
            pytest.fail(f"the test left {len(left)} database session(s) inside a transaction, last: {left}")
        return
    path = tmp_path / "farewell.sqlite3"
    shutil.copy(database["template"], path)
    yield f"sqlite:///{path}"


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
