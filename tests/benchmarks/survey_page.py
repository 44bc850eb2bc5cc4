"""The survey page under gunicorn, side by side with a minimal Flask + SQLAlchemy page of the same shape.

Not a test (pytest ignores tests/benchmarks): run it by hand and compare the figures with docs/performance.md.

    .venv/bin/python tests/benchmarks/survey_page.py                   # SQLite in a temporary file
    .venv/bin/python tests/benchmarks/survey_page.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_survey --fresh-postgres

Both apps run under gunicorn (sync workers, --workers each) on loopback against the same database: Farewell's
`wsgi:app` in production mode, and `minimal_survey_app.py` beside this file, which checks a signed token, loads one
row and renders a form of the same shape (the default exit survey's seven questions). Every link is opened once
first (Farewell marks a survey opened on the first look, and each worker reads the published questions once), so
what is measured is a customer opening their survey again, the common case. Then a plain-threads client (a new
connection per request, as sync workers close each one) runs the two in turn for --seconds each, --rounds times,
alternating which goes first. It prints requests per second for each round, the medians and their ratio
(target: Farewell at least 0.6 of the minimal page), and the CPU the servers' workers used per request (read from
/proc, Linux only): on a small shared machine the client and other work take CPU from both servers, so the CPU
ratio says what the requests/s ratio would be with CPU to spare.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

OWNER = "bench.owner@example.com"


def farewell_env(url: str, secret: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "FAREWELL_ENV": "production",
        "SECRET_KEY": secret,
        "DATABASE_URL": url,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "MAIL_SERVER": "127.0.0.1",  # required in production; a GET sends nothing
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def prepare_farewell(env: dict[str, str], links: int) -> list[str]:
    """Migrates, adds an owner and `links` cancellations; returns their survey paths."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from feedback import create_app
    from feedback.auth.models import User
    from feedback.auth.operations import create_user
    from feedback.cancellations.operations import NewCancellation, log_cancellation
    from feedback.extensions import db
    from feedback.signing import sign
    from feedback.surveys.operations import SURVEY_SALT

    app = create_app()
    with app.app_context():
        upgrade()
        if db.session.scalar(select(User.id).where(User.email == OWNER)) is None:
            create_user(OWNER, "Olivia Owner", "owner", "bench-owner-password")
            db.session.commit()
        paths = []
        for n in range(links):
            cancellation = log_cancellation(
                NewCancellation(
                    owner_email=OWNER,
                    customer_name=f"Sam Leaving{n}",
                    customer_email=f"sam{n}.{secrets.token_hex(3)}@client.test",
                    company="Client Co",
                )
            )
            db.session.flush()
            invitation = cancellation.invitation
            paths.append("/s/" + sign([invitation.id, invitation.nonce], SURVEY_SALT))
        db.session.commit()
        db.session.remove()
    return paths


def prepare_minimal(url: str, secret: str, links: int) -> list[str]:
    """The minimal page's table and `links` rows; returns their paths."""
    from minimal_survey_app import Link, create, db, sign

    app = create(url, secret)
    with app.app_context():
        db.create_all()
        paths = []
        for n in range(links):
            link = Link(nonce=secrets.token_urlsafe(9), customer_name=f"Sam Leaving{n}", owner_name="Olivia Owner")
            db.session.add(link)
            db.session.flush()
            paths.append("/s/" + sign(secret, link.id, link.nonce))
        db.session.commit()
        db.session.remove()
    return paths


def start_gunicorn(target: str, port: int, workers: int, env: dict[str, str], log: Path, chdir: Path) -> Any:
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    command += ["--chdir", str(chdir), target]
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_ready(port: int, path: str, process: Any, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn on {port} exited:\n{log.read_text()}")
        try:
            if get(port, path) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"gunicorn on {port} did not answer in 30 s:\n{log.read_text()}")


def server_cpu(master: Any) -> float:
    """CPU seconds used so far by a gunicorn master's workers (Linux /proc), so each request's cost can be told
    apart from the client's, which shares the machine."""
    total = 0
    for child in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split():
        stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(stat[11]) + int(stat[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def load(port: int, paths: list[str], threads: int, seconds: float) -> tuple[float, int]:
    """Requests per second over `seconds` from `threads` client threads, and how many answers were not 200."""
    counts = [0] * threads
    errors = [0] * threads
    stop = threading.Event()

    def client(index: int) -> None:
        for path in itertools.cycle(paths[index::threads] or paths):
            if stop.is_set():
                return
            try:
                ok = get(port, path) == 200
            except OSError:
                ok = False
            counts[index] += 1
            errors[index] += 0 if ok else 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - began), sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in a temporary file)")
    parser.add_argument("--fresh-postgres", action="store_true", help="drop and recreate the PostgreSQL schema first")
    parser.add_argument("--links", type=int, default=200, help="survey links per app")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ports", default="5201,5202", help="Farewell's port and the minimal page's")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="farewell-survey-bench-"))
    url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    if url.startswith("postgresql"):
        if not args.fresh_postgres:
            sys.exit("Give --fresh-postgres to let the benchmark drop and recreate that database's public schema.")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    farewell_port, minimal_port = (int(p) for p in args.ports.split(","))
    secret = secrets.token_hex(32)
    env = farewell_env(url, secret, farewell_port)
    farewell_paths = prepare_farewell(env, args.links)
    minimal_paths = prepare_minimal(url, secret, args.links)
    minimal_env = {**os.environ, "MINIMAL_DATABASE_URL": url, "MINIMAL_SECRET_KEY": secret}

    logs = {"farewell": workdir / "farewell.log", "minimal": workdir / "minimal.log"}
    servers = {
        "farewell": start_gunicorn("wsgi:app", farewell_port, args.workers, env, logs["farewell"], ROOT),
        "minimal": start_gunicorn("minimal_survey_app:app", minimal_port, args.workers, minimal_env,
                                  logs["minimal"], HERE),
    }  # fmt: skip
    ports = {"farewell": farewell_port, "minimal": minimal_port}
    paths = {"farewell": farewell_paths, "minimal": minimal_paths}
    try:
        for name in servers:
            wait_ready(ports[name], paths[name][0], servers[name], logs[name])
            for path in paths[name] * 2:  # first looks, and every worker's caches
                status = get(ports[name], path)
                assert status == 200, (name, path, status)
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"{database}, {args.workers} gunicorn workers each, {args.threads} client threads, "
              f"{args.seconds:g} s per measurement, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
        results: dict[str, list[float]] = {"farewell": [], "minimal": []}
        cpu: dict[str, list[float]] = {"farewell": [], "minimal": []}
        for round_ in range(args.rounds):
            order = ["farewell", "minimal"] if round_ % 2 == 0 else ["minimal", "farewell"]
            for name in order:
                before = server_cpu(servers[name])
                rate, errors = load(ports[name], paths[name], args.threads, args.seconds)
                cpu[name].append((server_cpu(servers[name]) - before) * 1000 / (rate * args.seconds))
                results[name].append(rate)
                print(f"  round {round_ + 1}: {name:8} {rate:7.1f} requests/s, {cpu[name][-1]:.2f} ms of server CPU "
                      "each" + (f", {errors} errors" if errors else ""))  # fmt: skip
            print(f"  round {round_ + 1}: ratio {results['farewell'][-1] / results['minimal'][-1]:.2f}")
        farewell, minimal = (statistics.median(results[name]) for name in ("farewell", "minimal"))
        farewell_cpu, minimal_cpu = (statistics.median(cpu[name]) for name in ("farewell", "minimal"))
        print(f"median: Farewell {farewell:.1f} requests/s, minimal page {minimal:.1f} requests/s, "
              f"ratio {farewell / minimal:.2f} (target 0.6)")  # fmt: skip
        print(f"server CPU per request: Farewell {farewell_cpu:.2f} ms, minimal page {minimal_cpu:.2f} ms, "
              f"ratio {minimal_cpu / farewell_cpu:.2f} (requests/s ratio with CPU to spare)")  # fmt: skip
    finally:
        for process in servers.values():
            process.terminate()
        for process in servers.values():
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
