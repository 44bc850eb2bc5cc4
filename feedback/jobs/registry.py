"""The jobs by name: a feature registers its own with `@periodic`, and the runner finds them here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Long past any run of today's jobs (they take well under a second): a holder silent this long is presumed dead.
DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Job:
    """A plain function of the time it runs at, returning what it did in a few words ("" when there was nothing)."""

    name: str
    every: timedelta
    run: Callable[[datetime], str]
    #: How long one run may hold the job; past it another worker takes the job over, so keep it above any run.
    lease: timedelta = DEFAULT_LEASE

    @property
    def description(self) -> str:
        """The first line of the function's docstring, for `flask jobs status`."""
        return (self.run.__doc__ or "").strip().split("\n")[0]


class DuplicateJob(ValueError):
    """Two different functions were registered under one name: the second would silently replace the first."""


_jobs: dict[str, Job] = {}


def periodic(name: str, *, every: timedelta, lease: timedelta = DEFAULT_LEASE) -> Callable[[Callable], Callable]:
    """Registers the decorated function as the job `name`, due every `every`; the function itself is unchanged."""

    def register(run: Callable[[datetime], str]) -> Callable[[datetime], str]:
        add(Job(name, every, run, lease))
        return run

    return register


def add(job: Job) -> Job:
    """The same function registered again (a second app, a reloaded module) replaces itself, harmlessly."""
    if not 0 < len(job.name) <= 80:
        raise ValueError(f"a job's name has 1 to 80 characters (job_runs.name), got {job.name!r}")
    if job.every <= timedelta(0) or job.lease <= timedelta(0):
        raise ValueError(f"job {job.name}: its interval and its lease must be positive")
    known = _jobs.get(job.name)
    if known is not None and _origin(known.run) != _origin(job.run):
        raise DuplicateJob(f"job {job.name} is already {_origin(known.run)}, not {_origin(job.run)}")
    _jobs[job.name] = job
    return job


def registered() -> list[Job]:
    """Every registered job in name order, the order the runner takes them in.

    Not the order of registration: that is the order the features' modules happen to be imported in, which a test,
    a command or a plugin importing one of them early would change. Each job stands alone: none needs another to
    have run first in the same pass (inbound.poll-imap still comes before inbound.process, so a pass processes the
    mail it fetched, as before).
    """
    return sorted(_jobs.values(), key=lambda job: job.name)


def tally(count: int, one: str, many: str) -> str:
    """A job's report: "1 reminder queued", "3 reminders queued", or "" when nothing happened."""
    return "" if count == 0 else f"{count} {one if count == 1 else many}"


def _origin(run: Callable) -> str:
    return f"{run.__module__}.{run.__qualname__}"
