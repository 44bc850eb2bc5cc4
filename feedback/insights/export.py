"""The insights export: one CSV row per filtered cancellation, its facts and every answer by question key.

On PostgreSQL the rows come straight out of `COPY (the query) TO STDOUT`, the fastest way out of the database,
formula cells neutralised by the query itself (the rule of `neutralise`, in SQL); elsewhere Python's csv module
writes what the same query returns. Either way the rows stream: memory stays flat however many there are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from feedback.actions.models import ActionItem
from feedback.auth.models import User
from feedback.extensions import db
from feedback.imports.csvfiles import FORMULA_STARTS, neutralise
from feedback.inbound.models import CustomerReply
from feedback.insights.facts import cancellations, joined, moment_text, responses, reviews, shape, values, where
from feedback.insights.filters import Filter
from feedback.questions.models import Question, QuestionnaireVersion

FACTS = (
    "id", "cancelled_at", "customer_name", "customer_email", "company", "plan", "mrr", "customer_since", "owner",
    "source", "locale", "state", "reason", "complaint", "feedback", "comment",
)  # fmt: skip
#: The review question answered by action-item rows (feedback.actions.review_part).
REVIEW_ITEMS_KEY = "action_items"
#: Rows per chunk handed to the web server when Python writes the CSV.
CHUNK = 2000
#: Bytes per chunk handed to the web server from PostgreSQL's COPY.
COPY_CHUNK = 64 * 1024


def question_keys(connection: Connection, questionnaire: str) -> list[tuple[str, str]]:
    """Every (key, type) any version asked, in the newest version's order, then older keys as last asked."""
    rows = connection.execute(
        select(Question.key, Question.type)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Question.version_id)
        .where(QuestionnaireVersion.questionnaire == questionnaire)
        .order_by(QuestionnaireVersion.number.desc(), Question.position)
    ).all()
    seen: dict[str, str] = {}
    for key, kind in rows:
        seen.setdefault(key, kind)
    return list(seen.items())


def _neutralised(value: Any) -> Any:
    """What `neutralise` does, in SQL: text a spreadsheet would run as a formula gets an apostrophe first."""
    return case((func.substr(value, 1, 1).in_(FORMULA_STARTS), literal("'") + value), else_=value)


class lines_of(FunctionElement[str]):  # noqa: N801 - reads as the SQL aggregate it stands for
    """A text column's values over a group, one per line, in the order of the second argument."""

    type = String()
    inherit_cache = True


@compiles(lines_of, "sqlite")
def _lines_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite before 3.44 has no ORDER BY inside an aggregate; the rows come by the cancellation_id index, whose
    # equal keys are kept in rowid (= id) order, so the titles come in the order they were written.
    value, _order = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"group_concat({value}, char(10))"


@compiles(lines_of, "postgresql")
def _lines_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    value, order = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"string_agg({value}, E'\\n' ORDER BY {order})"


def _review_items(c: Any) -> Any:
    """The titles of the items written in the review's rows, one per line: since the review asks for rows,
    they are what it answered to "What must change?", and its JSON answer holds nothing for that key."""
    items = ActionItem.__table__
    return (
        select(lines_of(items.c.title, items.c.id))
        .where(items.c.cancellation_id == c.id, items.c.source == "review")
        .scalar_subquery()
    )


def _answer(table: Any, key: str, kind: str) -> Any:
    value = table.c.answers[key]
    if kind == "yes_no":
        return case((value.as_boolean().is_(True), "yes"), (value.as_boolean().is_(False), "no"))
    if kind in ("rating", "likelihood"):
        return cast(value.as_integer(), String)
    return value.as_string()


def export_query(connection: Connection, f: Filter) -> tuple[list[str], Any]:
    """The header and the SELECT that produces the rows, text already neutralised where needed."""
    survey_version = aliased(QuestionnaireVersion, name="survey_version")
    review_version = aliased(QuestionnaireVersion, name="review_version")
    c = cancellations.c
    text = {"customer_name", "customer_email", "company", "plan", "reason", "complaint", "comment", "locale"}
    columns: list[Any] = []
    for name in FACTS:
        if name == "owner":
            columns.append(User.email)
        elif name == "cancelled_at":
            columns.append(moment_text(c.cancelled_at))
        elif name in text:
            columns.append(_neutralised(c[name]))
        else:
            columns.append(c[name])
    header = list(FACTS)
    header.append("survey_version")
    columns.append(survey_version.number)
    for key, kind in question_keys(connection, "exit-survey"):
        header.append(f"survey.{key}")
        columns.append(_neutralised(_answer(responses, key, kind)))
    header.append("customer_reply")  # what they wrote back by email, their first reply (feedback.inbound)
    replies = CustomerReply.__table__
    first_reply = (
        select(replies.c.text)
        .where(replies.c.cancellation_id == c.id)
        .order_by(replies.c.received_at, replies.c.id)
        .limit(1)
        .scalar_subquery()
    )
    columns.append(_neutralised(first_reply))
    header.append("review_version")
    columns.append(review_version.number)
    for key, kind in question_keys(connection, "internal-review"):
        header.append(f"review.{key}")
        answered = _answer(reviews, key, kind)
        if key == REVIEW_ITEMS_KEY:  # the old free-text reviews kept their paragraph; newer ones wrote rows
            answered = func.coalesce(func.nullif(answered, ""), _review_items(c))
        columns.append(_neutralised(answered))
    query = (
        select(*columns)
        .select_from(joined())
        .join(User, User.id == c.owner_id)
        .outerjoin(survey_version, survey_version.id == responses.c.version_id)
        .outerjoin(review_version, review_version.id == reviews.c.version_id)
        .where(*where(shape(f), values(f)))
        .order_by(c.cancelled_at, c.id)
    )
    return header, query


def _header_line(header: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([neutralise(name) for name in header])
    return out.getvalue()


def copy_statement(connection: Connection, query: Any) -> tuple[str, dict[str, Any]]:
    """The query as PostgreSQL's COPY ... TO STDOUT, with its parameters as the table stores them (naive UTC)."""
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = {
        name: value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value
        for name, value in compiled.params.items()
    }
    return f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)", params


def _copied(connection: Connection, query: Any) -> Iterator[bytes]:
    statement, params = copy_statement(connection, query)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement, params) as copy:
            buffer = bytearray()
            for row in copy:  # PostgreSQL sends a message per row: hand the web server bigger pieces
                buffer += row
                if len(buffer) >= COPY_CHUNK:
                    yield bytes(buffer)
                    buffer.clear()
            if buffer:
                yield bytes(buffer)
    finally:
        cursor.close()


def _written(connection: Connection, query: Any) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    result = connection.execution_options(yield_per=CHUNK).execute(query)
    for partition in result.partitions():
        writer.writerows(partition)  # None is written as an empty cell; the query neutralised the text
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def export_rows(f: Filter, connection: Connection | None = None) -> Iterator[str | bytes]:
    """The CSV, header first, in chunks; read-only, so nothing to commit."""
    connection = connection or db.session.connection()
    header, query = export_query(connection, f)
    yield _header_line(header)
    if connection.dialect.name == "postgresql":
        yield from _copied(connection, query)
    else:
        yield from _written(connection, query)


def export_filename(f: Filter) -> str:
    return f"farewell-insights-{f.since.isoformat()}-to-{f.until.isoformat()}.csv"
