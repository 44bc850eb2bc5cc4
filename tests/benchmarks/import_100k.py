"""A big CSV import, checked and imported by the worker's own operations, against a plain insert of the same rows.

Not a test (pytest ignores tests/benchmarks): run it by hand and compare the figures with docs/performance.md.

    .venv/bin/python tests/benchmarks/import_100k.py                      # SQLite in a temporary file
    .venv/bin/python tests/benchmarks/import_100k.py --rows 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_bigimports --fresh-postgres

It generates a CSV of --rows cancellations (each a new customer with an external_id, four owners), stores it as
an import run, and then does what `flask worker`'s imports.work job does: `check_run` (every row, a batch at a
time, progress committed), `confirm_run`, `import_run` (one transaction: customers, cancellations, timelines,
invitations, and the import_mail rows for the emails). Target: check + import under 120 s for 100,000 rows on
PostgreSQL. The emails' queueing that follows the commit (`queue_import_mail`, two rendered emails a row) is
timed on --mail-sample rows and reported as a rate.

The baseline is the floor for the same rows: the driver's executemany of the customers' and cancellations'
values into their tables in one transaction (rolled back), no checks, no ORM. The ratio says how many times that
floor the import takes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedback import create_app  # noqa: E402
from feedback.extensions import db  # noqa: E402
from feedback.imports.operations import SAMPLE_HEADERS  # noqa: E402

OWNERS = [f"owner{n}@bench.example" for n in range(4)]
HEADER = SAMPLE_HEADERS["cancellations"]
PLANS = ("Starter", "Team", "Business")
FEEDBACK = ("too_expensive", "missing_features", "unused", "")


def make_app(url: str) -> Any:
    return create_app(
        {
            "FAREWELL_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "BASE_URL": "http://localhost",
            "MAIL_BACKEND": "local",
        }
    )


def generate(rows: int, seed: str) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        lines.append(
            f"cus_{seed}_{n},Customer {n},customer{n}.{seed}@bench.example,Company {n % 997},{PLANS[n % 3]},"
            f"{19 + n % 200}.00,2023-0{1 + n % 9}-1{n % 10},{OWNERS[n % 4]},{('en', 'de', 'fr')[n % 3]},"
            f'Budget,"Too slow, sometimes",2026-0{1 + n % 9}-0{1 + n % 9}T10:00:00Z,{FEEDBACK[n % 4]},thanks'
        )
    return ("\n".join(lines) + "\n").encode()


def prepare(url: str, fresh: bool) -> Any:
    from flask_migrate import upgrade

    from feedback.auth.models import User
    from feedback.auth.operations import create_user

    app = make_app(url)
    with app.app_context():
        if fresh and url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        for n, email in enumerate(OWNERS):
            if db.session.scalar(select(User.id).where(User.email == email)) is None:
                create_user(email, f"Owner {n}", "admin" if n == 0 else "owner", "bench-password-long")
        db.session.commit()
    return app


def baseline(rows: int) -> float:
    """The same rows' values through the driver's executemany, customers then cancellations, rolled back."""
    owner_id = db.session.scalar(select(func.min(text("id"))).select_from(text("users")))
    now = "2026-12-01 10:00:00"
    customers = [
        (f"base_{n}", f"Customer {n}", f"c{n}@bench.example", f"Company {n % 997}", PLANS[n % 3], 19 + n % 200,
         OWNERS[n % 4], "en", now, now)
        for n in range(rows)
    ]  # fmt: skip
    cancellations = [
        (f"Customer {n}", f"c{n}@bench.example", f"Company {n % 997}", PLANS[n % 3], 19 + n % 200, "Budget",
         "Too slow", owner_id, "csv", "logged", now, "en", now, FEEDBACK[n % 4], "thanks")
        for n in range(rows)
    ]  # fmt: skip
    connection = db.session.connection().connection.dbapi_connection
    marker = "%s" if db.engine.dialect.name == "postgresql" else "?"
    began = time.perf_counter()
    cursor = connection.cursor()
    cursor.executemany(
        "INSERT INTO customers (external_id, name, email, company, plan, mrr, owner_email, locale, created_at,"  # noqa: S608 - our own columns
        f" updated_at) VALUES ({', '.join([marker] * 10)})",
        customers,
    )
    cursor.executemany(
        "INSERT INTO cancellations (customer_name, customer_email, company, plan, mrr, reason, complaint, owner_id,"  # noqa: S608
        " source, state, cancelled_at, locale, created_at, feedback, comment)"
        f" VALUES ({', '.join([marker] * 15)})",
        cancellations,
    )
    elapsed = time.perf_counter() - began
    db.session.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--fresh-postgres", action="store_true", help="drop that database's public schema first")
    parser.add_argument("--mail-sample", type=int, default=1000, help="imported rows whose emails are queued, timed")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

    from feedback.auth.models import User
    from feedback.imports.models import ImportRun
    from feedback.imports.operations import import_mail_waiting, queue_import_mail
    from feedback.imports.runs import check_run, claim_next, confirm_run, import_run, start_run

    app = prepare(url, args.fresh_postgres)
    data = generate(args.rows, str(int(time.time())))
    print(f"{url.split(':')[0]}: {args.rows:,} rows, {len(data) / 1e6:.1f} MB of CSV")
    with app.app_context():
        uploader = db.session.scalar(select(User).where(User.email == OWNERS[0]))
        run = start_run("cancellations", data, "bench.csv", uploader)
        db.session.commit()
        run_id = run.id

        began, cpu_began = time.perf_counter(), time.process_time()
        run = claim_next("bench")
        assert run is not None and run.id == run_id and run.status == "checking"
        check_run(run, "bench")
        checked = time.perf_counter()
        run = db.session.get(ImportRun, run_id)
        assert run.status == "checked" and not run.problems, run.problems[:5]
        confirm_run(run, only_valid=False)
        db.session.commit()
        run = claim_next("bench")
        assert run is not None and run.status == "importing"
        import_run(run, "bench")
        imported, cpu = time.perf_counter(), time.process_time() - cpu_began
        run = db.session.get(ImportRun, run_id)
        assert run.status == "imported" and run.imported_rows == args.rows, (run.status, run.error)

        sample = min(args.mail_sample, args.rows)
        mail_began = time.perf_counter()
        queued = 0
        while queued < sample and (count := queue_import_mail(min(200, sample - queued))):
            db.session.commit()
            queued += count
        mail_time = time.perf_counter() - mail_began
        waiting = import_mail_waiting(run_id)

        floor = baseline(args.rows)
        db.session.remove()

    check_time, import_time = checked - began, imported - checked
    total = imported - began
    print(f"check:    {check_time:7.1f} s  {args.rows / check_time:9,.0f} rows/s")
    print(f"import:   {import_time:7.1f} s  {args.rows / import_time:9,.0f} rows/s  (one transaction)")
    print(f"total:    {total:7.1f} s  {args.rows / total:9,.0f} rows/s  target: under 120 s for 100,000 rows")
    print(f"          {cpu:7.1f} s of this process's CPU time in it (the rest: PostgreSQL, and other processes here)")
    print(f"baseline: {floor:7.1f} s  {args.rows / floor:9,.0f} rows/s  (executemany of the same rows, no checks)")
    print(f"ratio:    {total / floor:7.1f}x the baseline's time")
    print(
        f"emails:   {queued:,} rows' invitation and review request queued in {mail_time:.1f} s,"
        f" {queued / mail_time:,.0f} rows/s; {waiting:,} rows still waiting for the worker"
    )


if __name__ == "__main__":
    main()
