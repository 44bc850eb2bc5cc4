"""A load test: 200 customers answering their surveys at once against gunicorn and PostgreSQL, while the worker
sends mail and staff open the insights page. Then the database is checked.

Not a test (pytest ignores tests/benchmarks): run it by hand and compare the figures with docs/performance.md.

    .venv/bin/python tests/benchmarks/load.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_bigimports

Loopback only, bounded in count and time: every request goes to 127.0.0.1; each customer sends one GET and one
POST, each staff member at most --insights-per-staff GETs, and the run gives up after --timeout seconds.

1. The database (its public schema dropped first) is migrated and seeded: an admin, --staff owners, and
   --customers cancellations, each with its invitation and a submitted internal review (so that the customer's
   answer makes the summary due).
2. A local SMTP sink (aiosmtpd, in this process), gunicorn serving wsgi:app (--workers, --threads) and
   `flask worker` start, with the same settings (production, SMTP to the sink).
3. Every customer, in a thread of its own, released together: GET the survey (a cookie and the CSRF token, as a
   browser gets them), then POST the answer. Meanwhile each staff member logs in and opens /insights/ again and
   again until the customers are done.
4. Printed: requests per second, p50/p95/p99 latency, errors, by kind of request. Then, once the worker has sent
   everything due: 0 server errors, 0 lost answers (every customer whose POST was accepted has exactly the answer
   they sent), exactly one response and one summary per cancellation. Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REASON = re.compile(r'<input[^>]*name="main_reason"[^>]*value="([^"]+)"')


class CountingSink:
    """The SMTP server's handler: keeps who each message was for, and nothing else."""

    def __init__(self) -> None:
        self.recipients: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def settings(args: argparse.Namespace, smtp_port: int) -> dict[str, str]:
    return {
        "FAREWELL_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": args.database_url,
        "BASE_URL": f"http://127.0.0.1:{args.port}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def seed(args: argparse.Namespace) -> tuple[list[tuple[int, str]], list[str]]:
    """Fresh schema, staff, and the cancellations with their reviews; returns (id, survey URL) each and staff emails."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from feedback import create_app
    from feedback.auth.models import User
    from feedback.auth.operations import create_user
    from feedback.cancellations.operations import NewCancellation, log_cancellation
    from feedback.extensions import db
    from feedback.reviews.operations import review_version, submit_review
    from feedback.surveys.operations import survey_url

    app = create_app()
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        upgrade()
        staff = ["admin@load.example"] + [f"owner{n}@load.example" for n in range(args.staff)]
        for n, email in enumerate(staff):
            create_user(email, f"Staff {n}", "admin" if n == 0 else "owner", PASSWORD)
        db.session.commit()
        owners = [db.session.scalar(db.select(User).where(User.email == email)) for email in staff[1:]]
        surveys = []
        for n in range(args.customers):
            owner = owners[n % len(owners)]
            data = NewCancellation(
                customer_name=f"Customer {n}",
                customer_email=f"customer{n}@client.example",
                owner_email=owner.email,
                company=f"Company {n}",
                plan="Team",
                reason="Budget",
            )
            cancellation = log_cancellation(data)
            answers = {"this_week": f"Quiet churn {n}.", "relationship_history": "Fine."}
            submit_review(cancellation, owner, answers, review_version(cancellation).id)
            surveys.append((cancellation.id, survey_url(cancellation.invitation)))
        db.session.commit()
        db.session.remove()
    return surveys, staff


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    output = log.open("w")
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)


def wait_for_server(base_url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/login", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


class Recorder:
    """Every request's kind, status and latency (a status of 0 is a request that raised)."""

    def __init__(self) -> None:
        self.samples: list[tuple[str, int, float]] = []
        self.lock = threading.Lock()

    def call(self, kind: str, send: Any) -> requests.Response | None:
        began = time.perf_counter()
        try:
            response = send()
        except requests.RequestException:
            response = None
        status = response.status_code if response is not None else 0
        with self.lock:
            self.samples.append((kind, status, time.perf_counter() - began))
        return response


def customer(url: str, recorder: Recorder, start: threading.Barrier, accepted: dict[str, str]) -> None:
    session = requests.Session()
    start.wait()
    page = recorder.call("survey GET", lambda: session.get(url, timeout=60))
    if page is None or page.status_code != 200:
        return
    token, choices = CSRF.search(page.text), [html.unescape(c) for c in REASON.findall(page.text)]
    if not choices:
        return
    answer = choices[len(url) % len(choices)]
    form = {"main_reason": answer}
    if token:  # the form's own token, when it has one, as a browser sends it
        form["csrf_token"] = token.group(1)
    sent = recorder.call("survey POST", lambda: session.post(url, data=form, timeout=60, allow_redirects=False))
    if sent is not None and sent.status_code in (302, 303):
        accepted[url] = answer


def staff_member(base_url: str, email: str, recorder: Recorder, start: threading.Barrier, done: threading.Event,
                 limit: int) -> None:  # fmt: skip
    session = requests.Session()
    login = session.get(f"{base_url}/login", timeout=30)
    token = CSRF.search(login.text)
    form = {"csrf_token": token.group(1) if token else "", "email": email, "password": PASSWORD}
    session.post(f"{base_url}/login", data=form, timeout=60)  # before the start: not counted
    start.wait()
    for _ in range(limit):
        if done.is_set():
            break
        recorder.call("insights GET", lambda: session.get(f"{base_url}/insights/", timeout=60))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def report(recorder: Recorder, elapsed: float) -> None:
    by_kind: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for kind, status, latency in recorder.samples:
        by_kind[kind].append((status, latency))
    by_kind["all"] = [(status, latency) for _, status, latency in recorder.samples]
    print(f"{'requests':<14} {'n':>5} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for kind, samples in by_kind.items():
        latencies = [latency * 1000 for _, latency in samples]
        errors = sum(1 for status, _ in samples if status == 0 or status >= 500)
        print(
            f"{kind:<14} {len(samples):>5} {len(samples) / elapsed:>7.1f} {percentile(latencies, 0.5):>8.0f}"
            f" {percentile(latencies, 0.95):>8.0f} {percentile(latencies, 0.99):>8.0f} {errors:>7}"
        )


def check(surveys: list[tuple[int, str]], accepted: dict[str, str], recorder: Recorder) -> list[str]:
    """What must hold afterwards; each failure in words."""
    from sqlalchemy import func, select

    from feedback import create_app
    from feedback.extensions import db
    from feedback.summaries.models import Summary
    from feedback.surveys.models import Invitation, SurveyResponse

    failures = []
    server_errors = sum(1 for _, status, _ in recorder.samples if status >= 500)
    failed = sum(1 for _, status, _ in recorder.samples if status == 0)
    if server_errors or failed:
        failures.append(f"{server_errors} server errors and {failed} requests without an answer")
    app = create_app()
    with app.app_context():
        answers = dict(
            db.session.execute(
                select(Invitation.cancellation_id, SurveyResponse.answers).join(SurveyResponse.invitation)
            ).all()
        )
        per_cancellation = db.session.execute(
            select(Invitation.cancellation_id, func.count(SurveyResponse.id))
            .join(SurveyResponse.invitation)
            .group_by(Invitation.cancellation_id)
        ).all()
        summaries = db.session.execute(
            select(Summary.cancellation_id, func.count()).group_by(Summary.cancellation_id)
        ).all()
        db.session.remove()
    url_to_id = {url: cancellation_id for cancellation_id, url in surveys}
    lost = [url for url, answer in accepted.items() if answers.get(url_to_id[url], {}).get("main_reason") != answer]
    if lost:
        failures.append(f"{len(lost)} accepted answers are not in the database as sent")
    if len(accepted) != len(surveys):
        failures.append(f"only {len(accepted)} of {len(surveys)} customers had their answer accepted")
    if sorted(per_cancellation) != sorted((cid, 1) for cid, _ in surveys):
        failures.append(f"responses per cancellation are not exactly one each ({len(per_cancellation)} answered)")
    if sorted(summaries) != sorted((cid, 1) for cid, _ in surveys):
        failures.append(f"summaries per cancellation are not exactly one each ({len(summaries)} cancellations)")
    print(f"database: {len(answers)} responses, {len(summaries)} summaries for {len(surveys)} cancellations;"
          f" {len(accepted)} answers accepted, {len(lost)} lost")  # fmt: skip
    return failures


def outbox_due() -> int:
    from sqlalchemy import func, select

    from feedback import create_app
    from feedback.extensions import db
    from feedback.mail.models import OutboxMessage

    app = create_app()
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(OutboxMessage.status == "queued")) or 0
        db.session.remove()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_bigimports")
    parser.add_argument("--port", type=int, default=5301)
    parser.add_argument("--smtp-port", type=int, default=5302)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--staff", type=int, default=5)
    parser.add_argument("--insights-per-staff", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the load test runs against PostgreSQL: give --database-url postgresql+psycopg://…")
    deadline = time.monotonic() + args.timeout

    sink = CountingSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    env = settings(args, args.smtp_port)
    os.environ.update(env)
    print(f"seeding {args.customers} cancellations with reviews…", flush=True)
    surveys, staff = seed(args)
    base_url = env["BASE_URL"]
    logs = ROOT / "test-artifacts" / "load"
    logs.mkdir(parents=True, exist_ok=True)
    gunicorn = start(
        [str(ROOT / ".venv/bin/gunicorn"), "-k", "gthread", "-w", str(args.workers), "--threads", str(args.threads),
         "-b", f"127.0.0.1:{args.port}", "--timeout", "60", "wsgi:app"],
        env, logs / "gunicorn.log",
    )  # fmt: skip
    flask = str(ROOT / ".venv/bin/flask")
    worker = start([flask, "--app", "wsgi", "worker", "--interval", "1"], env, logs / "worker.log")
    try:
        wait_for_server(base_url, deadline)
        recorder, accepted, done = Recorder(), {}, threading.Event()
        barrier = threading.Barrier(len(surveys) + len(staff) + 1, timeout=120)
        customers = [
            threading.Thread(target=customer, args=(url, recorder, barrier, accepted), daemon=True)
            for _, url in surveys
        ]
        staffers = [
            threading.Thread(
                target=staff_member,
                args=(base_url, email, recorder, barrier, done, args.insights_per_staff),
                daemon=True,
            )
            for email in staff
        ]
        for thread in customers + staffers:
            thread.start()
        print(f"{len(customers)} customers and {len(staffers)} staff, released together…", flush=True)
        barrier.wait()
        began = time.perf_counter()
        for thread in customers:
            thread.join(max(0.0, deadline - time.monotonic()))
        done.set()
        for thread in staffers:
            thread.join(max(0.0, deadline - time.monotonic()))
        elapsed = time.perf_counter() - began
        print(f"done in {elapsed:.1f} s")
        report(recorder, elapsed)
        while outbox_due() and time.monotonic() < deadline:  # the worker sends the summaries the answers made due
            time.sleep(1)
        print(f"mail: {len(sink.recipients)} messages reached the SMTP sink; {outbox_due()} still queued")
        failures = check(surveys, accepted, recorder)
    finally:
        for process in (worker, gunicorn):
            process.terminate()
        for process in (worker, gunicorn):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()
    for failure in failures:
        print(f"FAILED: {failure}")
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
