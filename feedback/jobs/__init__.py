"""Periodic work: each job lives in its feature, registered with its interval; the worker runs what is due.

A feature registers a job where it lives, and the app factory's `register_jobs` imports that module:

    @periodic("surveys.lapse-links", every=timedelta(minutes=1))
    def lapse_links(now: datetime) -> str:
        return tally(expire_overdue_invitations(now), "survey link expired", "survey links expired")

`run_due` (behind `flask jobs run`, `flask jobs work` and `flask worker`) runs each due job in one worker only.
This package knows no feature: it imports nothing but the core (`feedback.db`, `feedback.extensions`).
"""

from feedback.jobs.registry import DuplicateJob, Job, periodic, registered, tally
from feedback.jobs.runner import JobResult, run_due

__all__ = ["DuplicateJob", "Job", "JobResult", "periodic", "registered", "run_due", "tally"]
