"""One narrow row per cancellation in the filter, gathered once per page into a temporary table.

Every chart is a GROUP BY over this table: the four-table join and the JSON answers are read once, whatever the
number of charts, so a page over a million cancellations costs one scan of the filtered rows plus small sums.
The table is temporary (per connection, dropped when the page is done), so two pages never see each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.functions import FunctionElement

from feedback.auth.models import User
from feedback.insights.filters import Filter
from feedback.postmortem.models import Cancellation
from feedback.reviews.models import Review
from feedback.surveys.models import Invitation, SurveyResponse

cancellations = Cancellation.__table__
invitations = Invitation.__table__
responses = SurveyResponse.__table__
reviews = Review.__table__

# --- What SQLite and PostgreSQL spell differently ----------------------------------------------------------


class day_text(FunctionElement[str]):  # noqa: N801 - reads as the SQL function it stands for
    """A timestamp's UTC day as YYYY-MM-DD text."""

    type = String()
    inherit_cache = True


class moment_text(FunctionElement[str]):  # noqa: N801
    """A timestamp as YYYY-MM-DD HH:MM:SS text (UTC), the same on every database."""

    type = String()
    inherit_cache = True


class seconds_between(FunctionElement[float]):  # noqa: N801
    """later - earlier, in seconds."""

    type = Float()
    inherit_cache = True


class days_between(FunctionElement[int]):  # noqa: N801
    """Whole days from a date to a timestamp's day."""

    type = Integer()
    inherit_cache = True


def _args(element: Any, compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(day_text)
def _day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "strftime('%Y-%m-%d', {})".format(*_args(element, compiler, **kw))


@compiles(day_text, "postgresql")
def _day_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "to_char({}, 'YYYY-MM-DD')".format(*_args(element, compiler, **kw))


@compiles(moment_text)
def _moment_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "strftime('%Y-%m-%d %H:%M:%S', {})".format(*_args(element, compiler, **kw))


@compiles(moment_text, "postgresql")
def _moment_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "to_char({}, 'YYYY-MM-DD HH24:MI:SS')".format(*_args(element, compiler, **kw))


@compiles(seconds_between)
def _seconds_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "((julianday({}) - julianday({})) * 86400.0)".format(*_args(element, compiler, **kw))


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "EXTRACT(EPOCH FROM ({} - {}))".format(*_args(element, compiler, **kw))


@compiles(days_between)
def _days_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return "CAST(julianday(date({})) - julianday({}) AS INTEGER)".format(*_args(element, compiler, **kw))


@compiles(days_between, "postgresql")
def _days_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "(CAST({} AS DATE) - {})".format(*_args(element, compiler, **kw))


# --- The table ------------------------------------------------------------------------------------------

facts = Table(
    "insight_facts",
    MetaData(),  # not the models' metadata: no migration makes it, each page does
    Column("id", Integer, primary_key=True),
    Column("current", Boolean, nullable=False),  # always true: the period before is counted by previous_days
    Column("day", String(10), nullable=False),
    Column("mrr", Numeric(12, 2)),
    Column("plan", String(120)),
    Column("source", String(32)),
    Column("locale", String(16)),
    Column("feedback", String(32)),
    Column("tenure_days", Integer),
    Column("invited", Boolean),
    Column("link_fetched", Boolean),
    Column("opened", Boolean),
    Column("answered", Boolean),
    Column("reminded", Boolean),
    Column("answered_after_reminder", Boolean),
    Column("answer_seconds", Float),
    Column("survey_version_id", Integer),
    Column("main_reason", String(200)),
    Column("return_likelihood", Integer),
    Column("may_follow_up", Boolean),
    Column("wrote", Boolean),
    Column("reviewed", Boolean),
    Column("review_seconds", Float),
    Column("review_version_id", Integer),
    Column("owner_reason", String(200)),
    Column("icp_fit", String(200)),
    Column("avoidable", String(200)),
    Column("involuntary", Boolean),
    prefixes=["TEMPORARY"],
)


def joined() -> FromClause:
    """A cancellation with its invitation, answers and review, each when there is one."""
    return (
        cancellations.outerjoin(invitations, invitations.c.cancellation_id == cancellations.c.id)
        .outerjoin(responses, responses.c.invitation_id == invitations.c.id)
        .outerjoin(reviews, reviews.c.cancellation_id == cancellations.c.id)
    )


def answer(table: Table, key: str) -> Any:
    return table.c.answers[key]


#: The filter's fields that narrow it beyond its dates; which of them a filter sets is its shape.
NARROWING = ("owner", "plan", "source", "locale", "fit", "avoidable", "churn")


def shape(f: Filter) -> tuple[str, ...]:
    return tuple(name for name in NARROWING if getattr(f, name))


def values(f: Filter) -> dict[str, Any]:
    """The bound values of `where(shape(f))`: the dates, and each narrowing field the filter sets."""
    return {"start": f.start, "end": f.end, **{name: getattr(f, name) for name in shape(f)}}


def where(narrowed_by: tuple[str, ...], bound: dict[str, Any] | None = None) -> list[ColumnElement[bool]]:
    """A filter of this shape as WHERE clauses over `joined()`: its values as parameters (see `values`), or `bound`."""

    def value(name: str) -> Any:
        return bindparam(name, bound[name]) if bound else bindparam(name)

    clauses: list[ColumnElement[bool]] = [
        cancellations.c.cancelled_at >= value("start"),
        cancellations.c.cancelled_at < value("end"),
        cancellations.c.stayed_at.is_(None),  # they undid the cancellation: no one was lost
    ]
    if "churn" in narrowed_by:
        clauses.append(cancellations.c.involuntary == (value("churn") == literal("involuntary")))
    if "owner" in narrowed_by:
        owner_id = select(User.id).where(User.email == value("owner")).scalar_subquery()
        clauses.append(cancellations.c.owner_id == owner_id)
    for name in ("plan", "source", "locale"):
        if name in narrowed_by:
            clauses.append(cancellations.c[name] == value(name))
    for name, key in (("fit", "icp_fit"), ("avoidable", "avoidable")):
        if name in narrowed_by:
            clauses.append(answer(reviews, key).as_string() == value(name))
    return clauses


def _wrote(key: str) -> ColumnElement[bool]:
    return func.coalesce(answer(responses, key).as_string(), literal("")) != literal("")


def facts_select(narrowed_by: tuple[str, ...]) -> Any:
    """The rows of `facts` for a filter of this shape, in the table's column order."""
    i, c, r, v = invitations.c, cancellations.c, responses.c, reviews.c
    asked_at = func.coalesce(i.sent_at, i.created_at)
    columns = [
        c.id,
        c.cancelled_at >= bindparam("start"),
        day_text(c.cancelled_at),
        c.mrr,
        c.plan,
        c.source,
        c.locale,
        c.feedback,
        days_between(c.cancelled_at, c.customer_since),
        i.id.is_not(None),
        # Fetched by anyone (a mail scanner too); opened by a person (the page's beacon, or a submit). Answered
        # before these were kept counts as both.
        i.fetched_at.is_not(None) | i.opened_at.is_not(None) | i.answered_at.is_not(None),
        i.opened_at.is_not(None) | i.answered_at.is_not(None),
        i.answered_at.is_not(None),
        i.reminded_at.is_not(None),
        and_(i.reminded_at.is_not(None), i.answered_at > i.reminded_at),
        seconds_between(i.answered_at, asked_at),
        r.version_id,
        answer(responses, "main_reason").as_string(),
        answer(responses, "return_likelihood").as_integer(),
        answer(responses, "may_follow_up").as_boolean(),
        or_(_wrote("final_straw"), _wrote("could_have_done")),
        v.id.is_not(None),
        seconds_between(v.submitted_at, c.created_at),
        v.version_id,
        answer(reviews, "owner_reason").as_string(),
        answer(reviews, "icp_fit").as_string(),
        answer(reviews, "avoidable").as_string(),
        c.involuntary,
    ]
    return select(*columns).select_from(joined()).where(*where(narrowed_by))


@cache
def gather_statement(narrowed_by: tuple[str, ...]) -> Any:
    """The INSERT of the facts for filters of this shape: built once per shape, its values bound per page."""
    return facts.insert().from_select([column.name for column in facts.columns], facts_select(narrowed_by))


@cache
def previous_statement(narrowed_by: tuple[str, ...]) -> Any:
    """The period before by day; the answers are joined only when the filter asks about the review (fit, avoidable)."""
    source = joined() if "fit" in narrowed_by or "avoidable" in narrowed_by else cancellations
    day = day_text(cancellations.c.cancelled_at)
    return (
        select(day, func.count(), func.sum(cancellations.c.mrr))
        .select_from(source)
        .where(*where(narrowed_by))
        .group_by(day)
    )


def previous_days(connection: Connection, f: Filter) -> list[tuple[str, int, Any]]:
    """The period before, by day (count, MRR lost): all the comparison needs, without gathering its facts."""
    rows = connection.execute(previous_statement(shape(f)), values(f.previous))
    return [tuple(row) for row in rows]


def build_statements(f: Filter) -> list[tuple[Any, dict[str, Any]]]:
    """What `gathered` runs, with its parameters."""
    return [(gather_statement(shape(f)), values(f))]


#: For gathering only, on PostgreSQL: the filter picks a fraction of the cancellations, and looking each one's
#: invitation, answers and review up by their unique keys beats hashing the three whole tables (5.6 s against
#: 10.7 s at a million cancellations here); JIT compiling the JSON extraction costs more than it saves.
PLANNER = ("jit = off", "enable_hashjoin = off", "enable_mergejoin = off")


@cache
def facts_ddl(dialect: Dialect) -> tuple[str, str]:
    """DROP TABLE IF EXISTS and CREATE TEMPORARY TABLE for the facts, compiled once per dialect.

    SQLAlchemy compiles DDL afresh at every execution (it has no compiled cache); for a page that creates and drops
    the table each time, that was a millisecond of Python for half a millisecond of SQL.
    """
    drop = DropTable(facts, if_exists=True).compile(dialect=dialect)
    return str(drop).strip(), str(CreateTable(facts).compile(dialect=dialect)).strip()


@contextmanager
def gathered(connection: Connection, f: Filter) -> Iterator[Table]:
    """The filter's facts in a temporary table on this connection, for the duration of the block."""
    drop, create = facts_ddl(connection.dialect)
    connection.exec_driver_sql(drop)  # left behind on a pooled connection by a page that failed
    connection.exec_driver_sql(create)
    try:
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:  # see PLANNER below
            for setting in PLANNER:
                connection.exec_driver_sql(f"SET LOCAL {setting}")
        for statement, parameters in build_statements(f):
            connection.execute(statement, parameters)
        if postgresql:
            for setting in PLANNER:
                connection.exec_driver_sql(f"RESET {setting.split(' =')[0]}")
        yield facts
    finally:
        connection.exec_driver_sql(drop)
