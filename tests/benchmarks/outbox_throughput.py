"""How close the outbox comes to raw SMTP: N invitations through the worker, then the same N through smtplib.

Not a test (pytest ignores tests/benchmarks): run it by hand and compare the figures with docs/performance.md.

    .venv/bin/python tests/benchmarks/outbox_throughput.py                  # SQLite in a temporary file
    .venv/bin/python tests/benchmarks/outbox_throughput.py --n 2000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench --fresh-postgres

The outbox figure covers what the worker really does per message: claim a batch under a lease, check the
suppression list, date the stored MIME message and send it over one connection, mark it sent (the database's
trigger writes the cancellation's timeline with it), one commit per message. (The worker does the database's work
while the server reads its commands, and holds each message's final dot until the previous message's sent mark is
committed: that is part of what is measured.) The floor sends the very same messages (the same bytes) with plain
smtplib over one connection. Both go to the same local aiosmtpd server, in a process of its own, which only counts
what it receives.

It also prints the CPU time this process spent per message in each run (all its threads; not the SMTP server's
nor PostgreSQL's): on a machine with few, shared CPUs that, more than the round trips, is what bounds the ratio.
"""

from __future__ import annotations

import argparse
import resource
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedback import create_app  # noqa: E402
from feedback.extensions import db  # noqa: E402


class CountingSink:
    """Accepts everything and keeps a count: the server's cost is the same for both runs."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.count += 1
        return "250 OK"


def serve(port: int) -> None:
    """The SMTP server, in a process of its own (as a real one would be): answers `count` and `reset` on stdin."""
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "reset":
            sink.count = 0
        print(sink.count, flush=True)
    controller.stop()


class SMTPServerProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def ask(self, command: str) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    @property
    def count(self) -> int:
        return self.ask("count")

    def reset(self) -> None:
        self.ask("reset")

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def queue_invitations(n: int) -> None:
    """N cancellations, each with its invitation queued through the real path (render, inline CSS, sign links)."""
    from feedback.auth.operations import create_user
    from feedback.postmortem.models import Cancellation
    from feedback.questions.operations import live_version
    from feedback.surveys.operations import create_invitation, queue_invitation

    owner = create_user("owner@bench.test", "Olive Owner", "owner", "benchmark-password")
    version = live_version("exit-survey")
    for i in range(n):
        cancellation = Cancellation(
            customer_name=f"Customer {i}", customer_email=f"customer{i}@bench.test", company="Bench Co", owner=owner
        )
        db.session.add(cancellation)
        queue_invitation(create_invitation(cancellation, version))
        if i % 200 == 199:
            db.session.commit()
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="messages (default 2000)")
    parser.add_argument("--batch-size", type=int, default=100, help="messages per claim and connection")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--fresh-postgres", action="store_true", help="drop and recreate the PostgreSQL schema first")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="farewell-bench-")
    url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    if url.startswith("postgresql"):
        if not args.fresh_postgres:
            sys.exit("Give --fresh-postgres to let the benchmark drop and recreate that database's public schema.")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()

    sink = SMTPServerProcess()
    port = sink.port
    app = create_app(
        {
            "FAREWELL_ENV": "testing",
            "SECRET_KEY": "benchmark",
            "SQLALCHEMY_DATABASE_URI": url,
            "BASE_URL": "https://farewell.bench.test",
            "COMPANY_NAME": "Acme Analytics",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_BACKEND": "smtp",
            "MAIL_DEFAULT_SENDER": "hello@acme.test",
            "SURVEY_REMINDER_DAYS": 0,
        }
    )
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from feedback.db import utcnow
            from feedback.mail.cli import run_once
            from feedback.mail.models import OutboxMessage
            from feedback.mail.rendering import as_sent, sender_address

            upgrade()
            started = time.perf_counter()
            queue_invitations(args.n)
            queued_in = time.perf_counter() - started
            db.session.remove()

            started, cpu_started = time.perf_counter(), time.process_time()
            report = run_once(batch=args.batch_size)
            outbox_seconds, outbox_cpu = time.perf_counter() - started, time.process_time() - cpu_started
            assert report.sent == args.n and sink.count == args.n, (report, sink.count)

            rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            envelope_from = sender_address()[1]
            prepared = [(row.recipient, as_sent(row, utcnow())) for row in rows]
            sink.reset()
            started, cpu_started = time.perf_counter(), time.process_time()
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as connection:
                for recipient, raw in prepared:
                    connection.sendmail(envelope_from, [recipient], raw)
            floor_seconds, floor_cpu = time.perf_counter() - started, time.process_time() - cpu_started
            assert sink.count == args.n
            db.session.remove()
            db.engine.dispose()
    finally:
        sink.stop()

    outbox_rate = args.n / outbox_seconds
    floor_rate = args.n / floor_seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database: {url.split(':', 1)[0]}, n = {args.n}, batch = {args.batch_size}")
    print(f"queued {args.n} invitations in {queued_in:.1f}s")
    print(f"outbox:  {outbox_rate:8.1f} messages/s ({outbox_seconds:.2f}s)")
    print(f"smtplib: {floor_rate:8.1f} messages/s ({floor_seconds:.2f}s)  <- the floor")
    print(f"ratio:   {outbox_rate / floor_rate:.2f} (target >= 0.7)")
    per_message = 1000 / args.n
    print(
        f"CPU of this process per message: outbox {outbox_cpu * per_message:.2f} ms, "
        f"smtplib {floor_cpu * per_message:.2f} ms (the SMTP server and the database server come on top)"
    )
    print(f"peak memory (max RSS of the whole run): {peak_mb:.0f} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        main()
