"""How the insights page and its export hold up at scale: the page against its own SQL, the export against COPY.

Not a test (pytest ignores tests/benchmarks): run it by hand and compare the figures with docs/performance.md.

    .venv/bin/python tests/benchmarks/insights.py --n 100000                 # SQLite in a temporary file
    .venv/bin/python tests/benchmarks/insights.py --n 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_insights

The database is topped up with `flask demo --bulk` data to --n cancellations first (its generator, in-process).

- The page: GET /insights/ through the app (login session, Flask, Jinja, every query), with the default filter
  (the last 90 days against the 90 before) and with a narrow one (one owner, one plan, 30 days). Then the raw
  aggregates: every SQL statement that page ran, captured as it ran and replayed straight through the database
  driver in one transaction, no SQLAlchemy, no template. The target is the page within 1.5x of its raw SQL. A
  third row times the narrow page once more with its template skipped (render_template answers ""): the floor
  that no template, however fast, could go below.
- The export: GET /insights/export.csv streamed to nowhere for about 10,000 rows and for every row, each in a
  process of its own so that its peak resident memory (ru_maxrss) is its own (target: the full export's peak at
  most 1.2x the 10k one's), and its rows per second against PostgreSQL's own COPY (the same query) TO STDOUT
  (target at least 0.5x). Each figure is the median of --repeat runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedback import create_app  # noqa: E402
from feedback.extensions import db  # noqa: E402

EMAIL, PASSWORD = "bench@insights.example", "bench-insights-password"


def make_app(url: str) -> Any:
    return create_app(
        {
            "FAREWELL_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "BASE_URL": "http://localhost",
            "MAIL_BACKEND": "local",
            "WTF_CSRF_ENABLED": False,
        }
    )


def prepare(app: Any, n: int) -> None:
    """Migrates, adds a staff member to log in as, and tops the cancellations up to n with bulk data."""
    from flask_migrate import upgrade

    from feedback.auth.models import User
    from feedback.auth.operations import create_user
    from feedback.insights.bulk import load
    from feedback.postmortem.models import Cancellation

    with app.app_context():
        upgrade()
        if db.session.scalar(select(User.id).where(User.email == EMAIL)) is None:
            create_user(EMAIL, "Bench Admin", "admin", PASSWORD)
            db.session.commit()
        have = db.session.scalar(select(func.count()).select_from(Cancellation)) or 0
        if have < n:
            began = time.perf_counter()
            print(f"loading {n - have:,} cancellations…", flush=True)
            load(n - have, seed=have + 1)
            print(f"  loaded in {time.perf_counter() - began:.1f} s", flush=True)
        db.session.remove()


def logged_in(app: Any) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client


def median_time(run: Any, repeat: int) -> float:
    return median_times(run, repeat)[0]


def median_times(run: Any, repeat: int) -> tuple[float, float]:
    """Wall-clock seconds and this process's CPU seconds, each the median of `repeat` runs after a warm-up.

    On SQLite the database works inside this process, so its CPU time is the page's whole cost without the time
    spent waiting for a CPU, which on a shared machine is most of the noise.
    """
    run()  # warm-up: caches, the query plan, the templates
    walls, cpus = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
    return statistics.median(walls), statistics.median(cpus)


def captured_statements(app: Any, client: Any, query: dict[str, str]) -> list[tuple[str, Any]]:
    """Every statement the page sends to the database, with its parameters as the driver got them."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert client.get("/insights/", query_string=query).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return statements


def replay(app: Any, statements: list[tuple[str, Any]]) -> None:
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            raw.rollback()
        finally:
            raw.close()


def export_child(url: str, query: dict[str, str]) -> None:
    """One export, streamed to nowhere, in this process: prints rows, seconds and peak RSS as JSON."""
    app = make_app(url)
    client = logged_in(app)
    began = time.perf_counter()
    response = client.get("/insights/export.csv", query_string=query, buffered=False)
    rows = -1  # the header
    for chunk in response.response:
        rows += (chunk if isinstance(chunk, bytes) else chunk.encode()).count(b"\n")
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def run_export(url: str, query: dict[str, str], repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat + 1):
        out = subprocess.run(  # noqa: S603 - this very script, with our own arguments
            [sys.executable, __file__, "--export-child", json.dumps(query), "--database-url", url],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    runs = runs[1:]
    return {
        "rows": runs[0]["rows"],
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mib": max(r["peak_mib"] for r in runs),
    }


def copy_rate(app: Any, query: dict[str, str], repeat: int) -> float | None:
    """PostgreSQL's own COPY (the export's query) TO STDOUT, read to the end: rows per second."""
    from feedback.insights.export import copy_statement, export_query
    from feedback.insights.filters import parse_filter

    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name != "postgresql":
            return None
        _, statement_query = export_query(connection, parse_filter(query))
        statement, params = copy_statement(connection, statement_query)
        cursor = connection.connection.driver_connection.cursor()

        def run() -> None:
            rows = 0
            with cursor.copy(statement, params) as copy:
                for chunk in copy:
                    rows += bytes(chunk).count(b"\n")
            run.rows = rows  # type: ignore[attr-defined]

        seconds = median_time(run, repeat)
        cursor.close()
        db.session.remove()
        return run.rows / seconds  # type: ignore[attr-defined]


def ranges(app: Any) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """A narrow page filter, an export of about 10,000 rows, and an export of every row."""
    from feedback.insights.bulk import OWNERS
    from feedback.postmortem.models import Cancellation

    with app.app_context():
        newest = db.session.scalar(select(func.max(Cancellation.cancelled_at)))
        oldest = db.session.scalar(select(func.min(Cancellation.cancelled_at)))
        ten_thousandth = db.session.scalar(
            select(Cancellation.cancelled_at).order_by(Cancellation.cancelled_at.desc()).offset(9_999).limit(1)
        )
        db.session.remove()
    today = date.today()
    narrow = {"since": (today - timedelta(days=29)).isoformat(), "owner": OWNERS[0][0], "plan": "Team"}
    last_10k = {"since": (ten_thousandth or oldest).date().isoformat(), "until": newest.date().isoformat()}
    everything = {"since": oldest.date().isoformat(), "until": newest.date().isoformat()}
    return narrow, last_10k, everything


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="cancellations in the database (default 100,000)")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure, after one warm-up")
    parser.add_argument("--only", choices=("page", "export"), help="measure only the page or only the export")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.database_url, json.loads(args.export_child))
        return
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = make_app(url)
    prepare(app, args.n)
    client = logged_in(app)
    narrow, last_10k, everything = ranges(app)
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}, {args.n:,} cancellations")
    if args.only != "export":
        measure_page(app, client, narrow, args.repeat)
    if args.only != "page":
        measure_export(app, url, last_10k, everything, args.repeat)


def measure_page(app: Any, client: Any, narrow: dict[str, str], repeat: int) -> None:
    in_process = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    print(
        "\nthe page                    page (s)   raw SQL (s)   ratio   statements"
        + ("   CPU: page, raw, ratio" * in_process)
    )
    rows = [("default (90 days)", {}, False), ("narrow (owner, plan, 30d)", narrow, False)]
    rows.append(("narrow, template skipped", narrow, True))
    for name, query, skip_template in rows:
        with template_skipped(skip_template):
            page, page_cpu = median_times(lambda query=query: client.get("/insights/", query_string=query), repeat)
            statements = captured_statements(app, client, query)
        raw, raw_cpu = median_times(lambda statements=statements: replay(app, statements), repeat)
        cpu = f"   {page_cpu:8.3f}  {raw_cpu:6.3f}  {page_cpu / raw_cpu:5.2f}" if in_process else ""
        print(f"{name:26}  {page:8.3f}   {raw:11.3f}   {page / raw:5.2f}   {len(statements):10}{cpu}")
    print(
        "(template skipped: the same page with render_template answering an empty string, every query and the"
        " whole request kept: the ratio no template, however fast, could beat)"
    )


@contextmanager
def template_skipped(skip: bool) -> Iterator[None]:
    """While `skip`, the insights view renders nothing: what is left is Flask, the login, the report and its SQL."""
    from feedback.insights import views

    rendering = views.render_template
    if skip:
        views.render_template = lambda *args, **context: ""
    try:
        yield
    finally:
        views.render_template = rendering


def measure_export(app: Any, url: str, last_10k: dict[str, str], everything: dict[str, str], repeat: int) -> None:
    print("\nthe export                  rows        seconds   rows/s     peak RSS (MiB)")
    results = {}
    for name, query in (("~10,000 rows", last_10k), ("every row", everything)):
        result = run_export(url, query, repeat)
        results[name] = result
        rate = result["rows"] / result["seconds"]
        print(f"{name:26}  {result['rows']:>9,}   {result['seconds']:7.2f}   {rate:9,.0f}   {result['peak_mib']:8.1f}")
    peak_ratio = results["every row"]["peak_mib"] / results["~10,000 rows"]["peak_mib"]
    print(f"peak memory, every row / 10k: {peak_ratio:.2f} (target at most 1.2)")
    copy = copy_rate(app, everything, repeat)
    if copy is None:
        print("COPY: not on this database (PostgreSQL only)")
    else:
        export_rate = results["every row"]["rows"] / results["every row"]["seconds"]
        print(f"COPY (same query) TO STDOUT: {copy:,.0f} rows/s; the export is {export_rate / copy:.2f}x (target 0.5)")


if __name__ == "__main__":
    main()
