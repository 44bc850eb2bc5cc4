"""Logs an operator can use (one line per request, its id, JSON) and what /healthz tells a monitor."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from conftest import deliver, log

from feedback.db import utcnow
from feedback.extensions import db
from feedback.jobs.models import JobRun
from feedback.requestlog import JsonFormatter, RequestIdFilter


def test_every_request_gets_an_id_and_one_line_without_its_token(client, caplog):
    caplog.set_level(logging.INFO, logger="feedback.requests")
    response = client.get("/s/secret-token-value-that-must-not-be-logged")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    [line] = [r for r in caplog.records if r.name == "feedback.requests"]
    assert line.fields["path"] == "/s/:token" and line.fields["status"] == response.status_code
    assert "secret-token" not in line.getMessage()
    assert line.request_id == request_id  # the filter sits on the handler; the record was made in the request
    kept = client.get("/healthz", headers={"X-Request-ID": "proxy-abc-12345"})
    assert kept.headers["X-Request-ID"] == "proxy-abc-12345"
    assert client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"] != "<script>"


def test_json_lines_carry_the_request_id():
    record = logging.LogRecord("feedback.requests", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.fields = {"status": 200}
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "-" and line["status"] == 200 and line["message"] == "GET / 200"


def test_healthz_shows_a_stuck_worker(app, client, owner):
    log(app, owner["email"])
    with app.app_context():
        db.session.add(JobRun(name="privacy.retention", next_due_at=utcnow(), last_outcome="ok",
                              last_finished_at=utcnow() - timedelta(hours=2)))  # fmt: skip
        db.session.commit()
    body = client.get("/healthz").json
    assert body["outbox"]["oldest_due_seconds"] >= 0
    assert body["jobs"]["privacy.retention"]["last_outcome"] == "ok"


def test_the_worker_logs_each_job_run_and_mail_batch_like_a_request(app, owner, smtp, caplog):
    from feedback.jobs import run_due
    from feedback.jobs.registry import Job

    def talks(now):
        logging.getLogger("feedback.test").warning("working on it")
        return "did 1 thing"

    log(app, owner["email"])
    caplog.set_level(logging.INFO, logger="feedback")
    with app.app_context():
        run_due(jobs=[Job("test.talks", timedelta(minutes=1), talks)])
        deliver(app)
    runs = [r for r in caplog.records if r.name == "feedback.runs"]
    [job, batch] = runs
    assert job.fields | {"duration_ms": 0} == {
        "kind": "job", "name": "test.talks", "outcome": "ok", "report": "did 1 thing", "duration_ms": 0
    }  # fmt: skip
    assert job.getMessage().startswith("job test.talks outcome=ok did 1 thing ")
    [inside] = [r for r in caplog.records if r.getMessage() == "working on it"]
    assert len(job.request_id) == 32 and inside.request_id == job.request_id  # every line of the run has its id
    assert batch.fields["kind"] == "outbox" and batch.fields["claimed"] == batch.fields["sent"] == 2
    assert batch.request_id not in ("-", job.request_id)
    # As JSON (LOG_FORMAT=json), the line is one object with the same fields.
    line = json.loads(JsonFormatter().format(batch))
    assert line["request_id"] == batch.request_id and line["sent"] == 2 and line["name"] == "batch"


def test_a_job_run_with_nothing_to_do_logs_at_debug_only(app, caplog):
    """`flask worker` runs imports.work every few seconds: an idle run must not bury the lines that say something."""
    from feedback.jobs import run_due
    from feedback.jobs.registry import Job

    caplog.set_level(logging.DEBUG, logger="feedback")
    with app.app_context():
        run_due(
            jobs=[
                Job("test.idle", timedelta(minutes=1), lambda now: ""),
                Job("test.busy", timedelta(minutes=1), lambda now: "did 2"),
            ]
        )
    levels = {r.fields["name"]: r.levelno for r in caplog.records if r.name == "feedback.runs"}
    assert levels == {"test.idle": logging.DEBUG, "test.busy": logging.INFO}
    idle = next(r for r in caplog.records if r.name == "feedback.runs" and r.fields["name"] == "test.idle")
    assert "idle" not in idle.fields and idle.getMessage().startswith("job test.idle outcome=ok nothing to do")
