"""The statements the page runs over the filter's facts, built once per process.

The facts table is the same whatever the filter, so the statements over it are too: built on first use and kept,
their cache keys are memoized and their SQL compiled once, and a page pays only for running them. Every GROUP BY is
one part of a single UNION ALL, each part tagged with what it counts, so the charts cost one round trip, not twenty.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from feedback.inbound.models import CustomerReply
from feedback.insights.facts import cancellations, facts, invitations, responses
from feedback.questions.models import Question, QuestionnaireVersion

TENURE_BANDS = ("Under 3 months", "3–12 months", "1–2 years", "Over 2 years", "Not known")
MRR_BANDS = ("Under 50", "50–199", "200–999", "1,000 and over", "Not known")
#: The answers whose shares count only the versions that asked them: (questionnaire, key, version column).
BY_VERSION = {
    "main_reason": ("exit-survey", "survey_version_id"),
    "may_follow_up": ("exit-survey", "survey_version_id"),
    "return_likelihood": ("exit-survey", "survey_version_id"),
    "owner_reason": ("internal-review", "review_version_id"),
    "avoidable": ("internal-review", "review_version_id"),
    "icp_fit": ("internal-review", "review_version_id"),
}
#: How many of what customers wrote the page shows.
FEED_LIMIT = 12


def _band(value: Any, limits: list[tuple[Any, str]], unknown: str) -> Any:
    whens = [(value.is_(None), unknown), *[(value < limit, label) for limit, label in limits[:-1]]]
    return case(*whens, else_=limits[-1][1])


def tenure_band() -> Any:
    bands = [(91, TENURE_BANDS[0]), (365, TENURE_BANDS[1]), (730, TENURE_BANDS[2]), (None, TENURE_BANDS[3])]
    return _band(facts.c.tenure_days, bands, TENURE_BANDS[4])


def mrr_band() -> Any:
    bands = [(50, MRR_BANDS[0]), (200, MRR_BANDS[1]), (1000, MRR_BANDS[2]), (None, MRR_BANDS[3])]
    return _band(facts.c.mrr, bands, MRR_BANDS[4])


def _parts() -> dict[str, tuple[Any, Any, tuple[ColumnElement[bool], ...]]]:
    """What each part of the tallies counts: (first key, second key or None, extra conditions)."""
    c = facts.c
    parts: dict[str, tuple[Any, Any, tuple[ColumnElement[bool], ...]]] = {
        key: (c[version], c[key], (c[version].is_not(None),)) for key, (_, version) in BY_VERSION.items()
    }
    # A failed payment is not a customer's reason, even when an owner asked them anyway.
    voluntary = c.involuntary.is_(False)
    parts["main_reason"] = (*parts["main_reason"][:2], (*parts["main_reason"][2], voluntary))
    parts |= {
        "periods": (c.day, None, ()),
        "churn": (c.involuntary, None, ()),
        "feedback": (c.feedback, None, (c.feedback != "", voluntary)),
        "plan": (c.plan, None, ()),
        "tenure": (tenure_band(), None, ()),
        "mrr_band": (mrr_band(), None, ()),
        "locale": (c.locale, None, (c.locale.is_not(None), c.locale != "")),
        "reasons_over_time": (c.day, c.main_reason, (c.main_reason.is_not(None), voluntary)),
        "fit_over_time": (c.day, c.icp_fit, (c.icp_fit.is_not(None),)),
        "agreement": (
            c.main_reason,
            c.owner_reason,
            (
                c.main_reason.is_not(None),
                c.owner_reason.is_not(None),
                c.main_reason != "",
                c.owner_reason != "",
                voluntary,
            ),
        ),
    }
    return parts


@cache
def tallies_statement() -> Any:
    """(kind, first key, second key, count, MRR lost) for every part; keys as text, so the parts line up."""
    selects = []
    for kind, (first, second, where) in _parts().items():
        keys = [first] if second is None else [first, second]
        selects.append(
            select(
                literal_column(f"'{kind}'", String).label("kind"),
                cast(first, String).label("a"),
                cast(null() if second is None else second, String).label("b"),
                func.count().label("n"),
                func.sum(facts.c.mrr).label("mrr"),
            )
            .where(facts.c.current, *where)
            .group_by(*keys)
        )
    return union_all(*selects)


def tallies(connection: Connection) -> dict[str, list[tuple[Any, Any, int, Any]]]:
    """The rows of every part, by kind: (first key, second key, count, MRR lost)."""
    result: dict[str, list[tuple[Any, Any, int, Any]]] = defaultdict(list)
    for kind, first, second, count, mrr in connection.execute(tallies_statement()):
        result[kind].append((first, second, count, mrr))
    return result


def _counted(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


#: The names of the totals' columns, in order.
TOTALS = (
    "cancellations",
    "mrr_lost",
    "invited",
    "link_fetched",
    "opened",
    "answered",
    "reminded",
    "after_reminder",
    "reviewed",
    "avoidable",
    "timed_answers",
    "timed_reviews",
)


@cache
def totals_statement(postgresql: bool) -> Any:
    """One row of TOTALS; on PostgreSQL the two medians as well, which it computes itself."""
    c = facts.c
    columns = [
        _counted(c.current),
        func.sum(case((c.current, c.mrr))),
        *(_counted(c.current & flag) for flag in (c.invited, c.link_fetched, c.opened, c.answered, c.reminded)),
        _counted(c.current & c.answered_after_reminder),
        _counted(c.current & c.reviewed),
        _counted(c.current & (c.avoidable == "Yes")),
        _counted(c.current & c.answer_seconds.is_not(None)),
        _counted(c.current & c.review_seconds.is_not(None)),
    ]
    if postgresql:
        columns += [
            func.percentile_cont(0.5).within_group(column).filter(c.current)
            for column in (c.answer_seconds, c.review_seconds)
        ]
    return select(*columns)


@cache
def medians_statement() -> Any:
    """Elsewhere, both medians by sorting: the middle one or two values of each, averaged.

    Parameters: `<column>_take` (1 or 2) and `<column>_skip` (the values before the middle).
    """
    averages = []
    for column in (facts.c.answer_seconds, facts.c.review_seconds):
        middle = (
            select(column.label("value"))
            .where(facts.c.current, column.is_not(None))
            .order_by(column)
            .limit(bindparam(f"{column.name}_take"))
            .offset(bindparam(f"{column.name}_skip"))
            .subquery()
        )
        averages.append(select(func.avg(middle.c.value)).scalar_subquery())
    return select(*averages)


def medians(connection: Connection, counts: tuple[int, int]) -> tuple[Any, Any]:
    """The medians of the answer and review times, given how many of each there are (for SQLite's sorting)."""
    if not any(counts):
        return None, None
    parameters = {}
    for name, count in zip(("answer_seconds", "review_seconds"), counts, strict=True):
        parameters[f"{name}_take"] = 2 - count % 2
        parameters[f"{name}_skip"] = max((count - 1) // 2, 0)
    answer, review = connection.execute(medians_statement(), parameters).one()
    return answer if counts[0] else None, review if counts[1] else None


@cache
def asked_statement() -> Any:
    return (
        select(QuestionnaireVersion.questionnaire, Question.key, Question.version_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Question.version_id)
        .where(Question.key.in_(list(BY_VERSION)))
    )


def asked(connection: Connection) -> dict[str, set[int]]:
    """For each key in BY_VERSION, the versions (of its questionnaire) that asked it."""
    result: dict[str, set[int]] = {key: set() for key in BY_VERSION}
    for questionnaire, key, version_id in connection.execute(asked_statement()):
        if BY_VERSION[key][0] == questionnaire:
            result[key].add(version_id)
    return result


FEED_KEYS = (
    "id", "customer_name", "company", "cancelled_at", "main_reason", "final_straw", "could_have_done", "reply",
    "owner_id", "state",
)  # fmt: skip


@cache
def feed_statement(readable: ColumnElement[bool]) -> Any:
    """One statement for the survey's written answers and what customers wrote back by email (their first reply).

    Only the postmortems whose words the reader may read (`readable`, from feedback.postmortem.access) are listed.
    """
    answers = responses.c.answers
    replies = CustomerReply.__table__
    written_back = replies.c.cancellation_id == facts.c.id, replies.c.text != ""
    first_reply = (
        select(replies.c.text).where(*written_back).order_by(replies.c.received_at, replies.c.id).limit(1)
    ).scalar_subquery()
    return (
        select(
            cancellations.c.id,
            cancellations.c.customer_name,
            cancellations.c.company,
            cancellations.c.cancelled_at,
            facts.c.main_reason,
            answers["final_straw"].as_string(),
            answers["could_have_done"].as_string(),
            first_reply,
            cancellations.c.owner_id,  # which page the entry links to: the postmortem, or its summary
            cancellations.c.state,
        )
        .select_from(facts)
        .join(cancellations, cancellations.c.id == facts.c.id)
        .outerjoin(invitations, invitations.c.cancellation_id == facts.c.id)
        .outerjoin(responses, responses.c.invitation_id == invitations.c.id)
        .where(facts.c.current, or_(facts.c.wrote, exists().where(*written_back)), readable)
        .order_by(cancellations.c.cancelled_at.desc(), cancellations.c.id.desc())
        .limit(FEED_LIMIT)
    )


def feed(connection: Connection, readable: ColumnElement[bool]) -> list[dict[str, Any]]:
    """What customers wrote, newest first, each linked to its postmortem (or its sent summary)."""
    return [dict(zip(FEED_KEYS, row, strict=True)) for row in connection.execute(feed_statement(readable))]
