"""Logs an operator can use: one line per request, a request id in every line and in X-Request-ID, JSON on demand.

`LOG_FORMAT=json` writes one JSON object per line (for a log collector); the default is plain text. The id comes
from the client's (or proxy's) X-Request-ID when it looks like one, else a fresh one, so a line in the proxy's log
and ours can be matched.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

log = logging.getLogger("feedback.requests")
runs_log = logging.getLogger("feedback.runs")

#: The id of the worker's batch or job run under way in this thread, as a request has its own.
_run_id: ContextVar[str | None] = ContextVar("farewell_run_id", default=None)

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id, or the worker's batch or job run's, on every record ("-" elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else (_run_id.get() or "-")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        document.update(getattr(record, "fields", {}))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def init_app(app: Flask) -> None:
    _configure_handler(app.config.get("LOG_FORMAT", "text"))
    app.before_request(_start)
    app.after_request(_finish)


def _configure_handler(kind: str) -> None:
    """One handler on the `feedback` loggers, replaced when a second app in this process asks for another format."""
    logger = logging.getLogger("feedback")
    for handler in [h for h in logger.handlers if getattr(h, "farewell", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.farewell = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if kind == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def loggable_path() -> str:
    """The path with any signed token in it replaced by its name: a survey or reset link must not reach the logs."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if "token" in name and isinstance(value, str) and value:
            path = path.replace(value, f":{name}")
    return path


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:
        return response
    response.headers["X-Request-ID"] = request_id
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    fields = {
        "method": request.method,
        "path": loggable_path(),
        "status": response.status_code,
        "duration_ms": duration_ms,
    }
    log.info(
        "%s %s %s %.1fms", fields["method"], fields["path"], fields["status"], duration_ms, extra={"fields": fields}
    )
    return response


@contextmanager
def logged_run(kind: str, name: str) -> Iterator[dict[str, Any]]:
    """One line for one unit of the worker's work (a job run, a batch of mail), as a request has one.

    Everything logged meanwhile carries the run's id; the caller fills the yielded dict with what happened
    (`outcome`, `report`, counts), which the line ends with. The line is written even when the work raises.
    A run that found nothing to do sets `idle`: its line is DEBUG, or a worker polling every few seconds would
    bury what happened under "nothing to do".
    """
    run_id = uuid.uuid4().hex
    token = _run_id.set(run_id)
    started = time.perf_counter()
    fields: dict[str, Any] = {}
    try:
        yield fields
    except BaseException:
        fields.setdefault("outcome", "failed")
        raise
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        level = logging.DEBUG if fields.pop("idle", False) else logging.INFO
        line = {"kind": kind, "name": name, **fields, "duration_ms": duration_ms}
        said = " ".join(f"{key}={value}" for key, value in fields.items() if key not in ("report",))
        report = f" {fields['report']}" if fields.get("report") else ""
        runs_log.log(level, "%s %s %s%s %.1fms", kind, name, said, report, duration_ms, extra={"fields": line})
        _run_id.reset(token)
