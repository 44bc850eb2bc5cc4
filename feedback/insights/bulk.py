"""`flask demo --bulk N`: N believable cancellations over two years, to see (and measure) insights at scale.

Each cancellation gets its customer, an invitation, often answers (two survey versions, a year apart) and often
the owner's review, spread over several owners. Rows go in by COPY on PostgreSQL and by batched inserts
elsewhere, in chunks, with ids assigned here so that the rows of one chunk can point at each other. No mail, no
timeline and no summaries are made: this is history for the insights page, not postmortems to run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.formatting import plural
from feedback.postmortem.models import Cancellation, Customer
from feedback.questions.defaults import EXIT_SURVEY, MAIN_REASONS
from feedback.questions.models import QuestionnaireVersion
from feedback.questions.operations import live_version, publish, question_spec
from feedback.reviews.models import Review
from feedback.surveys.models import Invitation, SurveyResponse

CHUNK = 10_000
OWNERS = [
    ("amara@bulk.example", "Amara Okafor"),
    ("bruno@bulk.example", "Bruno Costa"),
    ("chen@bulk.example", "Chen Wei"),
    ("dana@bulk.example", "Dana Levi"),
    ("emil@bulk.example", "Emil Nowak"),
]
PLANS = [("Starter", 19, 49), ("Team", 79, 199), ("Business", 249, 599), ("Enterprise", 900, 4000)]
PLAN_WEIGHTS = [40, 35, 18, 7]
REASON_WEIGHTS = [26, 17, 11, 13, 14, 6, 4, 6, 3]
SOURCES = [("web", 25), ("stripe", 40), ("api", 15), ("csv", 10), ("cli", 5), ("webhook", 5)]
STRIPE_FOR = {
    MAIN_REASONS[0]: "too_expensive", MAIN_REASONS[1]: "missing_features", MAIN_REASONS[2]: "too_complex",
    MAIN_REASONS[3]: "switched_service", MAIN_REASONS[4]: "unused", MAIN_REASONS[5]: "low_quality",
    MAIN_REASONS[6]: "customer_service", MAIN_REASONS[7]: "other", MAIN_REASONS[8]: "other",
}  # fmt: skip
FINAL_STRAWS = [
    "The renewal quote came in far above what we had budgeted.",
    "We waited four days for an answer about a broken export.",
    "Our new CTO standardised on another tool.",
    "The integration we needed was still on the roadmap after a year.",
    "Nobody on the team had logged in for two months.",
    "The sync failed again on the day of our board meeting.",
    "We merged with a company that already had a contract elsewhere.",
]
WISHES = [
    "A smaller plan for a team our size.",
    "Someone checking in when our usage dropped.",
    "Clearer documentation for the first setup.",
    "A heads-up before the price change.",
    "Faster replies from support when things broke.",
    "",
]
FIRST = ["Alex", "Sam", "Priya", "Jonas", "Maria", "Kenji", "Fatima", "Lucas", "Olga", "Tariq", "Ines", "Noah"]
LAST = ["Meyer", "Rossi", "Khan", "Silva", "Novak", "Tanaka", "Dubois", "Okafor", "Larsen", "Haddad", "Kim", "Ortiz"]
COMPANY = ["Studio", "Labs", "Analytics", "Bakery", "Logistics", "Health", "Media", "Works", "Partners", "Cloud"]


def _owners(connection: Connection) -> list[int]:
    """The active staff, with five bulk owners added the first time, so that the owner filter has choices."""
    for email, name in OWNERS:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            db.session.add(User(email=email, name=name, role="owner"))
    db.session.flush()
    return list(db.session.scalars(select(User.id).where(User.active).order_by(User.id)))


def _survey_versions() -> tuple[int, int]:
    """Two exit-survey versions, the second rewording the main reason, so shares follow a key across versions."""
    first = live_version("exit-survey")
    count = db.session.scalar(
        select(func.count())
        .select_from(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire == "exit-survey")
    )
    if count == 1:
        reworded = [dict(q) for q in EXIT_SURVEY]
        reworded[0]["prompt"] = "What made you decide to leave?"
        publish("exit-survey", reworded)
        second = live_version("exit-survey")
        # Bulk data never changes what real customers are asked: the questions that were live are live again.
        publish("exit-survey", [question_spec(q) for q in first.questions])
        return first.id, second.id
    return first.id, live_version("exit-survey").id


def _next_id(connection: Connection, table: Table) -> int:
    return (connection.scalar(select(func.max(table.c.id))) or 0) + 1


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


def generate(n: int, rng: random.Random, now: datetime, ids: dict[str, int], context: dict[str, Any]) -> Iterator:
    """Yields (customers, cancellations, invitations, responses, reviews) rows, one chunk at a time."""
    owners, (v1, v2), review_version = context["owners"], context["survey_versions"], context["review_version"]
    start = now - timedelta(days=730)
    batch: dict[str, list[tuple[Any, ...]]] = {
        name: [] for name in ("customers", "cancellations", "inv", "resp", "rev")
    }
    for k in range(n):
        cid, inv_id = ids["cancellations"] + k, ids["invitations"] + k
        cancelled = start + timedelta(seconds=rng.randrange(730 * 86400))
        plan, low, high = rng.choices(PLANS, weights=PLAN_WEIGHTS)[0]
        mrr = Decimal(rng.randrange(low, high + 1)).quantize(Decimal("0.01")) if rng.random() > 0.03 else None
        since = (cancelled - timedelta(days=int(rng.expovariate(1 / 420)) + 14)).date()
        reason = rng.choices(MAIN_REASONS, weights=REASON_WEIGHTS)[0]
        source = _pick(rng, SOURCES)
        owner = owners[k % len(owners)]
        locale = rng.choices(["en", "de", "fr"], weights=[70, 20, 10])[0]
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        company = f"{rng.choice(LAST)} {rng.choice(COMPANY)}"
        email = f"customer{cid}@bulk.example"
        feedback = STRIPE_FOR[reason] if source == "stripe" and rng.random() < 0.7 else ""
        answered = rng.random() < 0.46
        reviewed = rng.random() < 0.72
        sent = cancelled + timedelta(minutes=rng.randrange(1, 30))
        answer_at = sent + timedelta(minutes=int(rng.lognormvariate(6.3, 1.3))) if answered else None
        reminded = sent + timedelta(days=3) if (not answered or answer_at > sent + timedelta(days=3)) else None
        opened = (answer_at or sent) - timedelta(minutes=3) if answered or rng.random() < 0.35 else None
        batch["customers"].append(
            (cid, None, name, email, company, plan, mrr, since, "", locale, cancelled, cancelled)
        )  # fmt: skip
        state = "reviewed" if reviewed else "answered" if answered else "invited"
        comment = rng.choice(FINAL_STRAWS) if feedback and rng.random() < 0.3 else ""
        batch["cancellations"].append(
            (cid, name, email, company, plan, mrr, since, "", "", owner, None, source, state, cancelled, locale,
             cancelled, cid, feedback, comment)
        )  # fmt: skip
        batch["inv"].append(
            (inv_id, cid, v1 if cancelled < start + timedelta(days=365) else v2, f"bulk{inv_id:028x}", cancelled,
             sent + timedelta(days=30), sent, opened, answer_at, None, reminded)
        )  # fmt: skip
        if answered:
            answers: dict[str, Any] = {"main_reason": reason}
            if rng.random() < 0.4:
                answers["final_straw"] = rng.choice(FINAL_STRAWS)
            if rng.random() < 0.3:
                answers["could_have_done"] = rng.choice(WISHES)
            if rng.random() < 0.85:
                answers["return_likelihood"] = min(10, max(0, int(rng.gauss(4.5, 2.8))))
            answers["may_follow_up"] = rng.random() < 0.55
            batch["resp"].append(
                (ids["responses"] + k, inv_id, batch["inv"][-1][2], json.dumps(answers), answer_at, "")
            )
        if reviewed:
            owner_reason = reason if rng.random() < 0.64 else rng.choices(MAIN_REASONS, weights=REASON_WEIGHTS)[0]
            fit = rng.choices(["Yes, a good fit", "Partly", "No, not a fit"], weights=[55, 27, 18])[0]
            review = {
                "this_week": "They told us at renewal.",
                "relationship_history": "Usage had been falling for a quarter.",
                "action_items": "Call before renewal",
                "owner_reason": owner_reason,
                "icp_fit": fit,
                "avoidable": rng.choices(["Yes", "Maybe", "No"], weights=[30, 35, 35])[0],
            }
            reviewed_at = cancelled + timedelta(minutes=int(rng.lognormvariate(7.2, 1.0)))
            batch["rev"].append((ids["reviews"] + k, cid, review_version, owner, json.dumps(review), reviewed_at))
        if len(batch["cancellations"]) == CHUNK or k == n - 1:
            yield batch
            batch = {name: [] for name in batch}


TABLES = {
    "customers": Customer.__table__,
    "cancellations": Cancellation.__table__,
    "inv": Invitation.__table__,
    "resp": SurveyResponse.__table__,
    "rev": Review.__table__,
}
COLUMNS = {
    "customers": ("id", "external_id", "name", "email", "company", "plan", "mrr", "customer_since", "owner_email",
                  "locale", "created_at", "updated_at"),
    "cancellations": ("id", "customer_name", "customer_email", "company", "plan", "mrr", "customer_since", "reason",
                      "complaint", "owner_id", "logged_by_id", "source", "state", "cancelled_at", "locale",
                      "created_at", "customer_id", "feedback", "comment"),
    "inv": ("id", "cancellation_id", "version_id", "nonce", "created_at", "expires_at", "sent_at", "opened_at",
            "answered_at", "expired_at", "reminded_at"),
    "resp": ("id", "invitation_id", "version_id", "answers", "submitted_at", "user_agent"),
    "rev": ("id", "cancellation_id", "version_id", "author_id", "answers", "submitted_at"),
}  # fmt: skip


def _naive(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite, so that comparisons on the text match."""
    if isinstance(value, datetime):
        return _naive(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _copy(connection: Connection, name: str, rows: list[tuple[Any, ...]]) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {TABLES[name].name} ({', '.join(COLUMNS[name])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_naive(value) for value in row])
    finally:
        cursor.close()


def _insert(connection: Connection, name: str, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" for _ in COLUMNS[name])
    statement = f"INSERT INTO {TABLES[name].name} ({', '.join(COLUMNS[name])}) VALUES ({marks})"  # noqa: S608
    connection.connection.driver_connection.executemany(  # type: ignore[union-attr]
        statement, [tuple(_sqlite_value(value) for value in row) for row in rows]
    )


def load(n: int, seed: int = 14, progress: Callable[[int], None] | None = None) -> int:
    """Adds `n` cancellations with everything around them; commits chunk by chunk. Returns how many."""
    connection = db.session.connection()
    rng = random.Random(seed)
    context = {
        "owners": _owners(connection),
        "survey_versions": _survey_versions(),
        "review_version": live_version("internal-review").id,
    }
    db.session.commit()
    connection = db.session.connection()
    ids = {
        "cancellations": max(_next_id(connection, TABLES["cancellations"]), _next_id(connection, TABLES["customers"])),
        "invitations": _next_id(connection, TABLES["inv"]),
        "responses": _next_id(connection, TABLES["resp"]),
        "reviews": _next_id(connection, TABLES["rev"]),
    }
    write = _copy if connection.dialect.name == "postgresql" else _insert
    done = 0
    for batch in generate(n, rng, utcnow(), ids, context):
        connection = db.session.connection()
        for name in ("customers", "cancellations", "inv", "resp", "rev"):
            if batch[name]:
                write(connection, name, batch[name])
        db.session.commit()
        done += len(batch["cancellations"])
        if progress:
            progress(len(batch["cancellations"]))
    if db.session.connection().dialect.name == "postgresql":
        _reset_sequences()
    return done


def _reset_sequences() -> None:
    """COPY with explicit ids leaves the sequences behind; the next ordinary insert must not collide."""
    for table in TABLES.values():
        name = table.name
        db.session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE((SELECT MAX(id) FROM {name}), 1))")  # noqa: S608 - our table names
        )
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def real_postmortems() -> int:
    """Cancellations neither the demo nor a bulk load made: a database someone uses for real."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Cancellation)
            .where(Cancellation.source != "demo", ~Cancellation.customer_email.like("%@bulk.example"))
        )
        or 0
    )


def load_bulk(n: int, force: bool = False) -> None:
    """The command's side: a progress bar on a terminal, the time it took in the end."""
    import time

    import click

    real = real_postmortems()
    if real and not force:
        raise click.ClickException(
            f"This database holds {plural(real, 'real postmortem', 'real postmortems')}; "
            "bulk demo data would mix with them in insights. "
            "Use a database of its own, or pass --force."
        )
    click.echo(
        f"Adds {n:,} generated cancellations (customers @bulk.example), the bulk owners "
        f"{', '.join(email for email, _ in OWNERS)}, and a reworded exit-survey version for the insights to "
        "compare; the questions live before stay live."
    )
    began = time.perf_counter()
    with click.progressbar(length=n, label=f"Loading {n:,} cancellations", file=None) as bar:
        done = load(n, progress=bar.update)
    click.echo(f"Loaded {done:,} cancellations in {time.perf_counter() - began:.1f} s.")
