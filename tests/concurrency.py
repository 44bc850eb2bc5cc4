"""Many clients at the same moment, each with its own database connection, for races the database must settle."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from feedback import create_app
from feedback.extensions import db
from feedback.questions.operations import live_version


def at_once(app_config: dict[str, Any], count: int, call: Callable[[FlaskClient], Any]) -> list[Any]:
    """Runs `call` from `count` threads released together; returns what each returned."""
    racing = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": count + 5, "max_overflow": 5}})
    with racing.app_context():
        live_version("exit-survey")  # published before the race, as it is on any server that has logged once
    start = threading.Barrier(count)
    results: list[Any] = []

    def run() -> None:
        client = racing.test_client()
        start.wait()
        results.append(call(client))

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with racing.app_context():
        db.engine.dispose()
    return results
