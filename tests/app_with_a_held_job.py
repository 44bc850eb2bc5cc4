"""`flask --app tests/app_with_a_held_job.py worker`: the app of wsgi.py plus one test-only job that holds for 30 s.

The job stands for a long import or a slow parse. It writes `started` into $HELD_JOB_DIR when it begins, waits
until `release` appears there (or 30 s pass), then writes `finished`, so a test can tell what happened while it ran.
Nothing of it is in production code: the test starts the worker with this module as its app.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from feedback import create_app
from feedback.jobs.registry import Job, add

HOLD_SECONDS = 30


def hold(now: datetime) -> str:
    """Holds the jobs lane as a long job would."""
    folder = Path(os.environ["HELD_JOB_DIR"])
    (folder / "started").touch()
    deadline = time.monotonic() + HOLD_SECONDS
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (folder / "finished").touch()
    return "held the jobs lane"


add(Job("test.held", every=timedelta(days=1), run=hold))
app = create_app()
