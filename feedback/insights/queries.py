"""The numbers on the insights page, its API and its digest: small GROUP BYs over the filter's facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, false
from sqlalchemy.sql import ColumnElement

from feedback.insights.facts import gathered, previous_days
from feedback.insights.filters import AVOIDABLE_CHOICES, FIT_CHOICES, Filter
from feedback.insights.tallies import (
    BY_VERSION,
    MRR_BANDS,
    TENURE_BANDS,
    TOTALS,
    asked,
    feed,
    medians,
    tallies,
    totals_statement,
)

ZERO = Decimal("0.00")


@dataclass
class Share:
    """One answer (a reason, a plan, a band): how many, their share of those asked, the MRR they took."""

    label: str
    count: int
    share: float | None
    mrr_lost: Decimal = ZERO


@dataclass
class Bucket:
    """A week or a month of the period, beside the same stretch of the period before."""

    start: date
    cancellations: int = 0
    mrr_lost: Decimal = ZERO
    previous_cancellations: int = 0
    previous_mrr_lost: Decimal = ZERO
    #: Counts by an answer (reason, fit) within the bucket.
    by: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    filter: Filter
    totals: dict[str, Any]
    previous: dict[str, Any]
    periods: list[Bucket]
    reasons: list[Share]
    owner_reasons: list[Share]
    stripe_reasons: list[Share]
    agreement: dict[str, Any]
    reasons_over_time: list[Bucket]
    plans: list[Share]
    tenure: list[Share]
    mrr_bands: list[Share]
    avoidable: list[Share]
    fit: list[Share]
    fit_over_time: list[Bucket]
    likelihood: list[Share]
    follow_up: Share
    feed: list[dict[str, Any]]
    options: dict[str, list[str]]
    #: Voluntary and involuntary side by side: how many, and the MRR each took.
    churn: list[Share] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.totals["cancellations"] == 0


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


Rows = list[tuple[Any, Any, int, Any]]


def shares_by_version(rows: Rows, versions: set[int]) -> list[Share]:
    """Counts of one answer's values, each share out of the responses whose version asked the question.

    `rows` are (version, value, count, MRR lost), keys as text.
    """
    asked_rows = [(label, count, mrr) for version, label, count, mrr in rows if int(version) in versions]
    totals: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for label, count, mrr in asked_rows:
        if label is not None and label != "":
            totals[label][0] += count
            totals[label][1] += _money(mrr)
    return _ordered(totals, sum(count for _, count, _ in asked_rows))


def _ordered(totals: dict[str, list[Any]], whole: int, order: Iterable[str] | None = None) -> list[Share]:
    shares = [Share(label, count, _ratio(count, whole), mrr) for label, (count, mrr) in totals.items()]
    if order is not None:
        rank = {label: position for position, label in enumerate(order)}
        return sorted(shares, key=lambda share: rank.get(share.label, len(rank)))
    return sorted(shares, key=lambda share: (-share.count, -share.mrr_lost, share.label))


def grouped(rows: Rows, order: Iterable[str] | None = None) -> list[Share]:
    """Cancellations in the period by one key: count, share of them all, MRR lost."""
    whole = sum(count for _, _, count, _ in rows)
    return _ordered({str(label): [count, _money(mrr)] for label, _, count, mrr in rows}, whole, order)


def bucket_of(f: Filter, day: date) -> date:
    """The start of the week (counted from `since`) or calendar month that holds `day`."""
    if f.by_month:
        return day.replace(day=1)
    return f.since + timedelta(days=(day - f.since).days // 7 * 7)


def buckets(f: Filter) -> list[Bucket]:
    starts, day = [], f.since
    while day <= f.until:
        start = bucket_of(f, day)
        if not starts or starts[-1] != start:
            starts.append(start)
        day += timedelta(days=1)
    return [Bucket(start) for start in starts]


def periods(f: Filter, rows: Rows, before: list[tuple[str, int, Any]]) -> list[Bucket]:
    """The period's days (from the tallies) and the period before's (shifted forward) into buckets."""
    result = buckets(f)
    starts = {bucket.start: bucket for bucket in result}
    for day, _, count, mrr in rows:
        bucket = starts[bucket_of(f, min(max(date.fromisoformat(day), f.since), f.until))]
        bucket.cancellations += count
        bucket.mrr_lost += _money(mrr)
    for day, count, mrr in before:
        when = date.fromisoformat(day) + timedelta(days=f.days)
        bucket = starts[bucket_of(f, min(max(when, f.since), f.until))]
        bucket.previous_cancellations += count
        bucket.previous_mrr_lost += _money(mrr)
    return result


def over_time(f: Filter, rows: Rows, labels: Iterable[str]) -> list[Bucket]:
    """Counts of one answer by bucket, for the labels given (the rest are left out)."""
    wanted = set(labels)
    result = buckets(f)
    starts = {bucket.start: bucket for bucket in result}
    for day, label, count, _ in rows:
        if label in wanted:
            bucket = starts[bucket_of(f, date.fromisoformat(day))]
            bucket.by[label] = bucket.by.get(label, 0) + count
    return result


def totals(connection: Connection) -> dict[str, Any]:
    """The period's counts, with the median times to answer and to review."""
    postgresql = connection.dialect.name == "postgresql"
    row = connection.execute(totals_statement(postgresql)).one()
    current = dict(zip(TOTALS, (value or 0 for value in row), strict=False))
    if postgresql:
        current["median_answer_seconds"], current["median_review_seconds"] = row[len(TOTALS) :]
    else:
        counts = (current["timed_answers"], current["timed_reviews"])
        current["median_answer_seconds"], current["median_review_seconds"] = medians(connection, counts)
    current["mrr_lost"] = _money(current["mrr_lost"])
    current["response_rate"] = _ratio(current["answered"], current["invited"])
    current["open_rate"] = _ratio(current["opened"], current["invited"])
    current["after_reminder_share"] = _ratio(current["after_reminder"], current["answered"])
    current["review_rate"] = _ratio(current["reviewed"], current["cancellations"])
    return current


def agreement(rows: Rows) -> dict[str, Any]:
    """How often the owner named the customer's own main reason, and the pairs where they differ most."""
    compared = sum(count for _, _, count, _ in rows)
    agreed = sum(count for customer, owner, count, _ in rows if customer == owner)
    differences = sorted(
        ({"customer": mine, "owner": theirs, "count": count} for mine, theirs, count, _ in rows if mine != theirs),
        key=lambda pair: (-pair["count"], pair["customer"], pair["owner"]),
    )
    return {"compared": compared, "agreed": agreed, "rate": _ratio(agreed, compared), "differences": differences[:5]}


def options(rows: dict[str, Rows]) -> dict[str, list[str]]:
    """Plans and languages seen in the period, for the filter's menus."""
    return {
        "plans": sorted(plan for plan, _, _, _ in rows["plan"] if plan),
        "locales": sorted(locale for locale, _, _, _ in rows["locale"]),
    }


def report(connection: Connection, f: Filter, words_readable: ColumnElement[bool] | None = None) -> Report:
    """Every number the page shows, for this filter; runs in the caller's transaction and writes nothing lasting.

    The feed of what customers wrote holds only the postmortems `words_readable` lets through (none without it):
    the numbers are everyone's, the words follow feedback.postmortem.access.
    """
    with gathered(connection, f):
        current = totals(connection)
        rows = tallies(connection)
        before = previous_days(connection, f)
        versions = asked(connection)
        shares = {key: shares_by_version(rows[key], versions[key]) for key in BY_VERSION}
        written = feed(connection, false() if words_readable is None else words_readable)
    previous = {
        "cancellations": sum(row[1] for row in before),
        "mrr_lost": sum((_money(row[2]) for row in before), ZERO),
    }
    # Asked and not answered counts in the whole: the share is of those asked, like every share here.
    yes = next((share for share in shares["may_follow_up"] if share.label in ("True", "1", "true")), None)
    likelihood_total = sum(share.count for share in shares["return_likelihood"])
    by_score = {share.label: share for share in shares["return_likelihood"]}
    return Report(
        filter=f,
        totals=current,
        previous=previous,
        periods=periods(f, rows["periods"], before),
        reasons=shares["main_reason"],
        owner_reasons=shares["owner_reason"],
        stripe_reasons=grouped(rows["feedback"]),
        agreement=agreement(rows["agreement"]),
        reasons_over_time=over_time(f, rows["reasons_over_time"], [s.label for s in shares["main_reason"][:5]]),
        plans=grouped(rows["plan"]),
        tenure=grouped(rows["tenure"], order=TENURE_BANDS),
        mrr_bands=grouped(rows["mrr_band"], order=MRR_BANDS),
        avoidable=_in_order(shares["avoidable"], AVOIDABLE_CHOICES),
        fit=_in_order(shares["icp_fit"], FIT_CHOICES),
        fit_over_time=over_time(f, rows["fit_over_time"], FIT_CHOICES),
        likelihood=[by_score.get(str(score), Share(str(score), 0, _ratio(0, likelihood_total))) for score in range(11)],
        follow_up=Share("Allow a follow-up", yes.count, yes.share) if yes else Share("Allow a follow-up", 0, None),
        feed=written,
        options=options(rows),
        churn=churn(rows["churn"], current["cancellations"]),
    )


def churn(rows: Rows, whole: int) -> list[Share]:
    """Voluntary, then involuntary; a boolean reads 1/0 on SQLite and true/false on PostgreSQL."""
    found = {"voluntary": [0, ZERO], "involuntary": [0, ZERO]}
    for value, _, count, mrr in rows:
        kind = "involuntary" if str(value).lower() in ("1", "true") else "voluntary"
        found[kind][0] += count
        found[kind][1] += _money(mrr)
    return [Share(kind.capitalize(), count, _ratio(count, whole), mrr) for kind, (count, mrr) in found.items()]


def _in_order(shares: list[Share], order: Iterable[str]) -> list[Share]:
    rank = {label: position for position, label in enumerate(order)}
    return sorted(shares, key=lambda share: rank.get(share.label, len(rank)))
