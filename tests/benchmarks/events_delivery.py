"""Outbound webhooks: the worker's delivery of 2,000 events to a local receiver, against raw httpx posting the same
bodies over one connection; and what emitting an event adds to the web request that causes it.

Not a test (pytest ignores tests/benchmarks): run it by hand, on both databases.

    .venv/bin/python tests/benchmarks/events_delivery.py                  # SQLite in a temporary file
    .venv/bin/python tests/benchmarks/events_delivery.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_events --fresh-postgres

The receiver is a threaded HTTP/1.1 server on loopback that answers 204 at once, so the figures are Farewell's
own cost: claiming, building and signing each body, posting it, recording the attempt and committing the
outcome. Goal: at least 0.7 of raw httpx's events/s. The second figure compares a web request that logs a
cancellation with and without an enabled endpoint (the event row, and one delivery row, in its transaction).
Goal: at most 1 ms more per request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedback import create_app  # noqa: E402
from feedback.db import utcnow  # noqa: E402
from feedback.event_log.operations import add_endpoint  # noqa: E402
from feedback.events.delivery import deliver_all, headers_for  # noqa: E402
from feedback.events.emit import emit  # noqa: E402
from feedback.events.models import Delivery, Event, WebhookEndpoint  # noqa: E402
from feedback.events.payload import body_for  # noqa: E402
from feedback.extensions import db  # noqa: E402

OWNER = "owner@bench.example"


class Quick(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def serve() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quick)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def prepare(url: str, fresh: bool) -> Any:
    from flask_migrate import upgrade

    from feedback.auth.models import User
    from feedback.auth.operations import create_user

    app = create_app(
        {
            "FAREWELL_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "BASE_URL": "http://localhost",
            "MAIL_BACKEND": "local",
            "WEBHOOK_ALLOW_PRIVATE_HOSTS": True,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        if fresh and url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        if db.session.scalar(select(User.id).where(User.email == OWNER)) is None:
            create_user(OWNER, "Bench Owner", "admin", "bench-password-long")
        db.session.execute(delete(WebhookEndpoint))
        db.session.commit()
    return app


def delivery_rate(app: Any, receiver: str, count: int) -> tuple[float, float]:
    """(Farewell's events/s, raw httpx's events/s) for the same bodies and headers."""
    with app.app_context():
        endpoint = add_endpoint(receiver)
        for n in range(count):
            emit("customer.erased", {"how": "erased", "cancellation_ids": [n], "customer_ids": [n]})
        db.session.commit()
        started = time.perf_counter()
        report = deliver_all(batch=100)
        ours = time.perf_counter() - started
        assert report.delivered == count, report
        rows = db.session.scalars(select(Delivery).where(Delivery.endpoint_id == endpoint.id)).all()
        prepared = [(body_for(d.event, d.endpoint), d) for d in rows]
        started = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            for body, delivery in prepared:
                client.post(
                    receiver,
                    content=body,
                    headers=headers_for(delivery.webhook_id, delivery.endpoint.secret, body, utcnow()),
                )
        raw = time.perf_counter() - started
        db.session.delete(db.session.get(WebhookEndpoint, endpoint.id))
        db.session.execute(delete(Event))
        db.session.commit()
    return count / ours, count / raw


def request_cost(app: Any, receiver: str, requests: int) -> tuple[float, float]:
    """Median ms of a POST /cancellations/new that logs a cancellation, without and with an enabled endpoint."""
    client = app.test_client()
    client.post("/login", data={"email": OWNER, "password": "bench-password-long"})

    def timed(label: str) -> float:
        samples = []
        for n in range(requests):
            started = time.perf_counter()
            answer = client.post(
                "/cancellations/new",
                data={"customer_name": f"C {n}", "customer_email": f"{label}{n}@bench.example", "owner_email": OWNER},
            )
            samples.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 302, answer.status_code
        return statistics.median(samples)

    timed("warm")
    without = timed("without")
    with app.app_context():
        add_endpoint(receiver)
        db.session.commit()
    with_endpoint = timed("with")
    return without, with_endpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--fresh-postgres", action="store_true", help="drop that database's public schema first")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = prepare(url, args.fresh_postgres)
    server, receiver = serve()
    try:
        ours, raw = delivery_rate(app, receiver, args.events)
        print(f"Delivery of {args.events} events: {ours:,.0f}/s; raw httpx, one connection: {raw:,.0f}/s "
              f"(ratio {ours / raw:.2f}; goal >= 0.7)")  # fmt: skip
        without, with_endpoint = request_cost(app, receiver, args.requests)
        print(f"Logging a cancellation by the web form: {without:.2f} ms without an endpoint, {with_endpoint:.2f} ms "
              f"with one (+{with_endpoint - without:.2f} ms; goal <= 1 ms)")  # fmt: skip
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
