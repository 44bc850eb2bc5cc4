"""The one filter that drives the insights page, its export, its API and its digest; it lives in the URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from feedback.db import utcnow
from feedback.inputs.text import CONTROLS
from feedback.postmortem.timeline import SOURCE_LABELS

#: The page opens on the last 90 days, compared with the 90 before.
DEFAULT_DAYS = 90
#: The longest range a page charts (about ten years).
MAX_DAYS = 3660
#: Longer ranges are charted by month rather than by week.
WEEKLY_UP_TO_DAYS = 190
#: The review's answers a filter can pick (feedback.questions.defaults); "" means any.
FIT_CHOICES = ("Yes, a good fit", "Partly", "No, not a fit")
AVOIDABLE_CHOICES = ("Yes", "Maybe", "No")
#: Voluntary: the customer chose to leave; involuntary: a failed or disputed payment ended it (feedback.billing).
CHURN_CHOICES = ("voluntary", "involuntary")
SOURCES = tuple(SOURCE_LABELS)
#: The filter's fields as the URL and the API name them.
FIELDS = ("since", "until", "owner", "plan", "source", "locale", "fit", "avoidable", "churn")


class InvalidFilter(ValueError):
    """Field errors keyed by query parameter; the API answers 400 with them, the page falls back and says so."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Filter:
    """Cancellations from `since` to `until` (whole UTC days, both inclusive), narrowed by the other fields."""

    since: date
    until: date
    #: The owning staff member's email.
    owner: str = ""
    plan: str = ""
    source: str = ""
    #: The customer's language, as stored on the cancellation (en, de, fr).
    locale: str = ""
    #: The review's icp_fit answer.
    fit: str = ""
    #: The review's avoidable answer.
    avoidable: str = ""
    #: voluntary or involuntary (CHURN_CHOICES); "" for both.
    churn: str = ""

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after `until`."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def previous(self) -> Filter:
        """The same filter over the period of equal length just before."""
        return replace(self, since=self.since - timedelta(days=self.days), until=self.since - timedelta(days=1))

    @property
    def by_month(self) -> bool:
        return self.days > WEEKLY_UP_TO_DAYS

    @property
    def narrowed(self) -> bool:
        return any(getattr(self, name) for name in FIELDS[2:])

    def query_args(self, **changes: str) -> dict[str, str]:
        """The filter as URL parameters, without empty ones, so that a view can be shared or linked."""
        values = {name: str(value) for name, value in asdict(replace(self, **changes)).items()}
        return {name: value for name, value in values.items() if value}


def default_filter(today: date | None = None) -> Filter:
    today = today or utcnow().date()
    return Filter(since=today - timedelta(days=DEFAULT_DAYS - 1), until=today)


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Must be a date (YYYY-MM-DD)."
        return None


def parse_filter(args: Mapping[str, str], today: date | None = None) -> Filter:
    """The filter in these query parameters; InvalidFilter names each one that makes no sense."""
    today = today or utcnow().date()
    errors: dict[str, str] = {}
    since = _day(args.get("since", "").strip(), "since", errors)
    until = _day(args.get("until", "").strip(), "until", errors)
    if until is None:
        until = today if since is None or since <= today else since
    if since is None:
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until and "since" not in errors and "until" not in errors:
        errors["since"] = "Must be on or before until."
    if since.year < 1900 or until.year > 9000:
        errors["since" if since.year < 1900 else "until"] = "Must be a year from 1900 to 9000."
    elif (until - since).days >= MAX_DAYS and not errors:
        errors["since"] = f"The range can be at most {MAX_DAYS // 366} years long."
    values = {name: args.get(name, "").strip() for name in FIELDS[2:]}
    choices = {"source": SOURCES, "fit": FIT_CHOICES, "avoidable": AVOIDABLE_CHOICES, "churn": CHURN_CHOICES}
    for name, allowed in choices.items():
        if values[name] and values[name] not in allowed:
            errors[name] = f"Must be one of: {', '.join(allowed)}."
    for name, longest in (("owner", 254), ("plan", 120), ("locale", 16)):  # as the columns (and the API's document)
        if len(values[name]) > longest or CONTROLS.search(values[name]):
            errors[name] = "Too long, or not text."
    if errors:
        raise InvalidFilter(errors)
    values["owner"] = values["owner"].lower()
    return Filter(since=since, until=until, **values)
