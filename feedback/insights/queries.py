"""The numbers on the insights page, its API and its digest: small GROUP BYs over the filter's facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, select
from sqlalchemy.sql import ColumnElement

from feedback.insights.facts import facts, gathered, previous_days
from feedback.insights.filters import AVOIDABLE_CHOICES, FIT_CHOICES, Filter
from feedback.questions.models import Question, QuestionnaireVersion

TENURE_BANDS = ("Under 3 months", "3–12 months", "1–2 years", "Over 2 years", "Not known")
MRR_BANDS = ("Under 50", "50–199", "200–999", "1,000 and over", "Not known")
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

    @property
    def empty(self) -> bool:
        return self.totals["cancellations"] == 0


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def asked(connection: Connection, questionnaire: str, key: str) -> set[int]:
    """The versions whose questions include `key`: only their answers count towards that key's shares."""
    query = (
        select(Question.version_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Question.version_id)
        .where(QuestionnaireVersion.questionnaire == questionnaire, Question.key == key)
    )
    return set(connection.scalars(query))


def _current(*where: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    return [facts.c.current, *where]


def shares_by_version(connection: Connection, answer: str, version: str, versions: set[int]) -> list[Share]:
    """Counts of one answer's values, each share out of the responses whose version asked the question."""
    value, version_id = facts.c[answer], facts.c[version]
    rows = connection.execute(
        select(version_id, value, func.count(), func.sum(facts.c.mrr))
        .where(*_current(version_id.is_not(None)))
        .group_by(version_id, value)
    ).all()
    asked_count = sum(count for version_number, _, count, _ in rows if version_number in versions)
    totals: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for version_number, label, count, mrr in rows:
        if version_number in versions and label is not None and label != "":
            totals[str(label)][0] += count
            totals[str(label)][1] += _money(mrr)
    return _ordered(totals, asked_count)


def _ordered(totals: dict[str, list[Any]], whole: int, order: Iterable[str] | None = None) -> list[Share]:
    shares = [Share(label, count, _ratio(count, whole), mrr) for label, (count, mrr) in totals.items()]
    if order is not None:
        rank = {label: position for position, label in enumerate(order)}
        return sorted(shares, key=lambda share: rank.get(share.label, len(rank)))
    return sorted(shares, key=lambda share: (-share.count, -share.mrr_lost, share.label))


def grouped(connection: Connection, column: Any, *where: Any, order: Iterable[str] | None = None) -> list[Share]:
    """Cancellations in the period by one column: count, share of them all, MRR lost."""
    rows = connection.execute(
        select(column, func.count(), func.sum(facts.c.mrr)).where(*_current(*where)).group_by(column)
    ).all()
    whole = sum(row[1] for row in rows)
    return _ordered({str(label): [count, _money(mrr)] for label, count, mrr in rows}, whole, order)


def _band(value: Any, limits: list[tuple[Any, str]], unknown: str) -> Any:
    whens = [(value.is_(None), unknown), *[(value < limit, label) for limit, label in limits[:-1]]]
    return case(*whens, else_=limits[-1][1])


def tenure_band() -> Any:
    bands = [(91, TENURE_BANDS[0]), (365, TENURE_BANDS[1]), (730, TENURE_BANDS[2]), (None, TENURE_BANDS[3])]
    return _band(facts.c.tenure_days, bands, TENURE_BANDS[4])


def mrr_band() -> Any:
    bands = [(50, MRR_BANDS[0]), (200, MRR_BANDS[1]), (1000, MRR_BANDS[2]), (None, MRR_BANDS[3])]
    return _band(facts.c.mrr, bands, MRR_BANDS[4])


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


def periods(connection: Connection, f: Filter, before: list[tuple[str, int, Any]]) -> list[Bucket]:
    rows = connection.execute(select(facts.c.current, facts.c.day, func.count(), func.sum(facts.c.mrr)).group_by(
        facts.c.current, facts.c.day
    )).all() + [(False, day, count, mrr) for day, count, mrr in before]  # fmt: skip
    result = buckets(f)
    starts = {bucket.start: bucket for bucket in result}
    for current, day, count, mrr in rows:
        when = date.fromisoformat(day) if current else date.fromisoformat(day) + timedelta(days=f.days)
        bucket = starts[bucket_of(f, min(max(when, f.since), f.until))]
        if current:
            bucket.cancellations += count
            bucket.mrr_lost += _money(mrr)
        else:
            bucket.previous_cancellations += count
            bucket.previous_mrr_lost += _money(mrr)
    return result


def over_time(connection: Connection, f: Filter, column: Any, labels: Iterable[str]) -> list[Bucket]:
    """Counts of one answer by bucket, for the labels given (the rest are left out)."""
    wanted = set(labels)
    rows = connection.execute(
        select(facts.c.day, column, func.count()).where(*_current(column.is_not(None))).group_by(facts.c.day, column)
    ).all()
    result = buckets(f)
    starts = {bucket.start: bucket for bucket in result}
    for day, label, count in rows:
        if label in wanted:
            bucket = starts[bucket_of(f, date.fromisoformat(day))]
            bucket.by[label] = bucket.by.get(label, 0) + count
    return result


def median(connection: Connection, column: Any) -> float | None:
    """The median of a column over the period; PostgreSQL computes it, SQLite sorts and picks the middle."""
    where = _current(column.is_not(None))
    if connection.dialect.name == "postgresql":
        return connection.scalar(select(func.percentile_cont(0.5).within_group(column)).where(*where))
    count = connection.scalar(select(func.count()).where(*where)) or 0
    if not count:
        return None
    middle = select(column.label("value")).where(*where).order_by(column).limit(2 - count % 2).offset((count - 1) // 2)
    return connection.scalar(select(func.avg(middle.subquery().c.value)))


def totals(connection: Connection) -> dict[str, Any]:
    c = facts.c

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    row = connection.execute(
        select(
            counted(c.current),
            func.sum(case((c.current, c.mrr))),
            counted(c.current & c.invited),
            counted(c.current & c.opened),
            counted(c.current & c.answered),
            counted(c.current & c.reminded),
            counted(c.current & c.answered_after_reminder),
            counted(c.current & c.reviewed),
            counted(c.current & (c.avoidable == "Yes")),
        )
    ).one()
    values = [value or 0 for value in row]
    current = dict(
        zip(
            ("cancellations", "mrr_lost", "invited", "opened", "answered", "reminded", "after_reminder", "reviewed"),
            values[:8],
            strict=True,
        )
    )
    current["mrr_lost"] = _money(current["mrr_lost"])
    current["avoidable"] = values[8]
    current["response_rate"] = _ratio(current["answered"], current["invited"])
    current["open_rate"] = _ratio(current["opened"], current["invited"])
    current["after_reminder_share"] = _ratio(current["after_reminder"], current["answered"])
    current["review_rate"] = _ratio(current["reviewed"], current["cancellations"])
    return current


def agreement(connection: Connection) -> dict[str, Any]:
    """How often the owner named the customer's own main reason, and the pairs where they differ most."""
    pairs = connection.execute(
        select(facts.c.main_reason, facts.c.owner_reason, func.count())
        .where(*_current(facts.c.main_reason.is_not(None), facts.c.owner_reason.is_not(None)))
        .where(facts.c.main_reason != "", facts.c.owner_reason != "")
        .group_by(facts.c.main_reason, facts.c.owner_reason)
    ).all()
    compared = sum(count for _, _, count in pairs)
    agreed = sum(count for customer, owner, count in pairs if customer == owner)
    differences = sorted(
        ({"customer": mine, "owner": theirs, "count": count} for mine, theirs, count in pairs if mine != theirs),
        key=lambda pair: (-pair["count"], pair["customer"], pair["owner"]),
    )
    return {"compared": compared, "agreed": agreed, "rate": _ratio(agreed, compared), "differences": differences[:5]}


def feed(connection: Connection, limit: int = 12) -> list[dict[str, Any]]:
    """What customers wrote, newest first, each linked to its postmortem."""
    from feedback.insights.facts import cancellations, invitations, responses

    answers = responses.c.answers
    rows = connection.execute(
        select(
            cancellations.c.id,
            cancellations.c.customer_name,
            cancellations.c.company,
            cancellations.c.cancelled_at,
            facts.c.main_reason,
            answers["final_straw"].as_string(),
            answers["could_have_done"].as_string(),
        )
        .select_from(facts)
        .join(cancellations, cancellations.c.id == facts.c.id)
        .join(invitations, invitations.c.cancellation_id == facts.c.id)
        .join(responses, responses.c.invitation_id == invitations.c.id)
        .where(*_current(facts.c.wrote))
        .order_by(cancellations.c.cancelled_at.desc(), cancellations.c.id.desc())
        .limit(limit)
    ).all()
    keys = ("id", "customer_name", "company", "cancelled_at", "main_reason", "final_straw", "could_have_done")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def options(connection: Connection) -> dict[str, list[str]]:
    """Plans and languages seen in the period, for the filter's menus."""
    plans = connection.scalars(select(facts.c.plan).where(facts.c.plan != "").distinct().order_by(facts.c.plan))
    locales = connection.scalars(
        select(facts.c.locale).where(facts.c.locale.is_not(None), facts.c.locale != "").distinct()
    )
    return {"plans": list(plans), "locales": sorted(locales)}


def report(connection: Connection, f: Filter) -> Report:
    """Every number the page shows, for this filter; runs in the caller's transaction and writes nothing lasting."""
    with gathered(connection, f):
        current = totals(connection)
        before = previous_days(connection, f)
        previous = {
            "cancellations": sum(row[1] for row in before),
            "mrr_lost": sum((_money(row[2]) for row in before), ZERO),
        }
        main_asked = asked(connection, "exit-survey", "main_reason")
        reasons = shares_by_version(connection, "main_reason", "survey_version_id", main_asked)
        follow = shares_by_version(
            connection, "may_follow_up", "survey_version_id", asked(connection, "exit-survey", "may_follow_up")
        )
        # Asked and not answered counts in the whole: the share is of those asked, like every share here.
        yes = next((share for share in follow if share.label in ("True", "1", "true")), None)
        likelihood = shares_by_version(
            connection, "return_likelihood", "survey_version_id", asked(connection, "exit-survey", "return_likelihood")
        )
        likelihood_total = sum(share.count for share in likelihood)
        by_score = {share.label: share for share in likelihood}
        current["median_answer_seconds"] = median(connection, facts.c.answer_seconds)
        current["median_review_seconds"] = median(connection, facts.c.review_seconds)
        return Report(
            filter=f,
            totals=current,
            previous=previous,
            periods=periods(connection, f, before),
            reasons=reasons,
            owner_reasons=shares_by_version(
                connection, "owner_reason", "review_version_id", asked(connection, "internal-review", "owner_reason")
            ),
            stripe_reasons=grouped(connection, facts.c.feedback, facts.c.feedback != ""),
            agreement=agreement(connection),
            reasons_over_time=over_time(connection, f, facts.c.main_reason, [share.label for share in reasons[:5]]),
            plans=grouped(connection, facts.c.plan),
            tenure=grouped(connection, tenure_band(), order=TENURE_BANDS),
            mrr_bands=grouped(connection, mrr_band(), order=MRR_BANDS),
            avoidable=_in_order(
                shares_by_version(
                    connection, "avoidable", "review_version_id", asked(connection, "internal-review", "avoidable")
                ),
                AVOIDABLE_CHOICES,
            ),
            fit=_in_order(
                shares_by_version(
                    connection, "icp_fit", "review_version_id", asked(connection, "internal-review", "icp_fit")
                ),
                FIT_CHOICES,
            ),
            fit_over_time=over_time(connection, f, facts.c.icp_fit, FIT_CHOICES),
            likelihood=[
                by_score.get(str(score), Share(str(score), 0, _ratio(0, likelihood_total))) for score in range(11)
            ],
            follow_up=Share("Allow a follow-up", yes.count, yes.share) if yes else Share("Allow a follow-up", 0, None),
            feed=feed(connection),
            options=options(connection),
        )


def _in_order(shares: list[Share], order: Iterable[str]) -> list[Share]:
    rank = {label: position for position, label in enumerate(order)}
    return sorted(shares, key=lambda share: rank.get(share.label, len(rank)))
