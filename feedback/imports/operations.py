"""CSV imports of cancellations or customers: check every row first, then write all of them or none."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from feedback import audit
from feedback.auth.models import User
from feedback.cancellations.operations import (
    InvalidCancellation,
    MailLater,
    NewCancellation,
    check_cancellation,
    queue_invitation_mail,
)
from feedback.customers.intake import BODY_NAMES, Intake, check_fields, record_cancellation
from feedback.customers.operations import FIELDS, clean_customer
from feedback.extensions import db
from feedback.formatting import plural
from feedback.helpdesk.operations import queue_fetches
from feedback.imports.csvfiles import read_csv
from feedback.imports.models import ImportMail
from feedback.inputs.fields import normalize_email
from feedback.inputs.schemas import CUSTOMER
from feedback.postmortem.models import Cancellation, Customer
from feedback.postmortem.outbound import announce_logged
from feedback.questions.operations import live_version
from feedback.surveys.models import Invitation
from feedback.surveys.operations import link_lifetime

KINDS = ("cancellations", "customers")
CANCELLATION_COLUMNS = ("reason", "complaint", "cancelled_at", "feedback", "comment")
#: `currency` (ISO 4217, beside `mrr`) comes last, so that files made before it existed keep their columns' places.
_BEFORE_CURRENCY = tuple(name for name in FIELDS if name != "currency")
COLUMNS = {
    "customers": (*_BEFORE_CURRENCY, "currency"),
    "cancellations": (*_BEFORE_CURRENCY, *CANCELLATION_COLUMNS, "currency"),
}
SAMPLE_HEADERS = {kind: ",".join(columns) for kind, columns in COLUMNS.items()}
#: Rows checked or written together: one query per batch for the customers they name, one flush per batch.
BATCH_ROWS = 1000
Rows = list[tuple[int, dict[str, str]]]
Progress = Callable[[int], None]
BLANK_CUSTOMER = {"name": "", "email": "", "company": "", "plan": "", "owner_email": "", "locale": ""}


@dataclass
class Preview:
    kind: str
    #: (line, values) for each row in the file.
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: (line, field, message); line 1 is the header.
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    #: (line, the earlier line it repeats, how): rows left out because an earlier row is the same customer's.
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def bad_lines(self) -> set[int]:
        return {line for line, _, _ in self.problems}

    @property
    def valid_rows(self) -> list[tuple[int, dict[str, str]]]:
        """The rows to write: without problems, and each customer (or cancellation) once."""
        skipped = self.bad_lines | {line for line, _, _ in self.duplicates}
        return [(line, values) for line, values in self.rows if line not in skipped]

    @property
    def file_problem(self) -> bool:
        """A problem with the file as a whole (its header, its encoding): no row can be imported."""
        return any(line <= 1 for line, _, _ in self.problems)


def cancellation_body(values: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the API's cancellation body; the row's owner_email owns the customer and the cancellation."""
    customer = {name: values[name] for name in FIELDS if values.get(name)}
    if customer.keys() <= {"external_id"} and customer:
        body: dict[str, Any] = {"customer_external_id": customer["external_id"]}
    else:
        body = {"customer": customer}
    body.update({name: values[name] for name in ("owner_email", *CANCELLATION_COLUMNS) if values.get(name)})
    return body


class Lookups:
    """What checking or writing a batch of rows asks the database, asked once: staff by address (all of them, once),
    and the customers the batch names by external_id (one query per batch)."""

    def __init__(self) -> None:
        self.staff = {user.email.lower(): user for user in db.session.scalars(select(User))}
        self.customers: dict[str, Customer | None] = {}

    def owner(self, email: str) -> User | None:
        return self.staff.get(email.strip().lower())

    def load_customers(self, rows: Rows) -> None:
        """Forgets the last batch's customers (a commit expires them) and reads this batch's in one query."""
        self.customers.clear()
        wanted = sorted({values.get("external_id", "").strip() for _, values in rows} - {""})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(Customer).where(Customer.external_id.in_(chunk))
            found = {customer.external_id: customer for customer in db.session.scalars(query)}
            self.customers.update({external_id: found.get(external_id) for external_id in chunk})

    def customer(self, external_id: str) -> Customer | None:
        if external_id in self.customers:
            return self.customers[external_id]
        found = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
        self.customers[external_id] = found
        return found

    def upsert(self, values: Mapping[str, Any]) -> tuple[Customer, bool]:
        """`upsert_customer` without a flush per row: the batch is flushed at its end."""
        cleaned = clean_customer(values)
        external_id = cleaned.get("external_id")
        customer = self.customer(external_id) if external_id else None
        if customer is None:
            customer = Customer(**{**BLANK_CUSTOMER, **cleaned})  # the column defaults, which a flush would give
            db.session.add(customer)
            if external_id:
                self.customers[external_id] = customer
            return customer, True
        for name, value in cleaned.items():
            setattr(customer, name, value)
        return customer, False


def batches(rows: Rows, size: int = BATCH_ROWS) -> Iterator[Rows]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _row_problems(kind: str, values: dict[str, str], lookups: Lookups) -> dict[str, str]:
    if "__extra__" in values:
        return {"row": "The row has more cells than the header has columns."}
    present = {name: value for name, value in values.items() if value}
    if kind == "customers":
        if not present.get("email") and not present.get("external_id"):
            return {"email": "Give the customer's email or external_id."}
        return CUSTOMER.check(present, given_only=True)[1]
    errors, _ = check_fields({k: v for k, v in cancellation_body(values).items() if k != "customer"})
    # Every field is checked, the bad ones left out of what follows, so that one pass names every problem in the row.
    customer, problems = CUSTOMER.check({k: v for k, v in present.items() if k in FIELDS}, given_only=True)
    errors.update(problems)
    known = lookups.customer(customer["external_id"]) if customer.get("external_id") else None
    merged = {name: getattr(known, name) for name in FIELDS} if known else {}
    merged.update({k: v for k, v in customer.items() if v not in (None, "")})
    data = NewCancellation(
        customer_name=merged.get("name") or "",
        customer_email=merged.get("email") or "",
        owner_email=merged.get("owner_email") or "",
        company=merged.get("company") or "",
        plan=merged.get("plan") or "",
        mrr=merged.get("mrr"),
        currency=merged.get("currency"),
        customer_since=merged.get("customer_since"),
    )
    try:
        check_cancellation(data, find_owner=lookups.owner)
    except InvalidCancellation as invalid:
        for name, message in invalid.errors.items():
            errors.setdefault(BODY_NAMES.get(name, name).removeprefix("customer."), message)
    return {name: message for name, message in errors.items() if name in COLUMNS[kind] or name == "row"} or {}


def for_importer(values: dict[str, str], acting: User | None) -> dict[str, str]:
    """An account owner's row is theirs: without an owner_email, it names them. Admins' and the CLI's rows as given."""
    if acting is None or acting.is_admin or values.get("owner_email"):
        return values
    return {**values, "owner_email": acting.email}


def ownership_problems(values: dict[str, str], acting: User | None, lookups: Lookups) -> dict[str, str]:
    """Account owners touch only their own customers and give none to a colleague; admins (and the CLI) may."""
    if acting is None or acting.is_admin:
        return {}
    errors: dict[str, str] = {}
    owner_email = values.get("owner_email", "").strip()
    with suppress(ValueError):  # a malformed address is reported by the row's own checks
        owner_email = normalize_email(owner_email) if owner_email else ""
    if owner_email and owner_email != acting.email:
        errors["owner_email"] = "Only an admin can give a customer to another owner: use your own address."
    external_id = values.get("external_id", "").strip()
    known = lookups.customer(external_id) if external_id else None
    if known is not None and known.owner_email != acting.email:
        errors["external_id"] = (
            f"The customer {external_id} belongs to another account owner; only an admin can change it."
        )
    return errors


def read(kind: str, data: bytes, acting: User | None = None) -> Preview:
    """The file's rows, as the importer's (see `for_importer`), and any problem with the file as a whole."""
    result = Preview(kind)
    try:
        header, result.rows = read_csv(data)
    except ValueError as error:
        result.problems.append((1, "file", str(error)))
        return result
    unknown = [name for name in header if name and name not in COLUMNS[kind]]
    if unknown:
        result.problems.append(
            (1, "header", f"Unknown columns: {', '.join(unknown)}. Expected: {SAMPLE_HEADERS[kind]}")
        )
        return result
    if not result.rows:
        result.problems.append((1, "file", "The file has a header but no rows."))
    result.rows = [(line, for_importer(values, acting)) for line, values in result.rows]
    return result


def check_rows(kind: str, rows: Rows, acting: User | None, lookups: Lookups) -> list[tuple[int, str, str]]:
    """Every problem in these rows (a batch), by line; writes nothing."""
    lookups.load_customers(rows)
    problems = []
    for line, values in rows:
        found = {**ownership_problems(values, acting, lookups), **_row_problems(kind, values, lookups)}
        problems.extend((line, name, message) for name, message in found.items())
    return problems


def duplicate_rows(kind: str, rows: Rows, bad_lines: set[int]) -> list[tuple[int, int, str]]:
    """(line, first line, how) for every good row that repeats an earlier good one: the same external_id, or the
    same address (for cancellations: and the same day). The first is imported, the others are left out, so a file
    with a row twice makes one postmortem and one survey. The reasons name columns, never the values."""
    first: dict[tuple[str, ...], int] = {}
    found = []
    for line, values in rows:
        if line in bad_lines:
            continue
        for key, how in _identities(kind, values):
            if key in first:
                found.append((line, first[key], how))
                break
        else:
            for key, _ in _identities(kind, values):
                first[key] = line
    return found


def _identities(kind: str, values: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    """What makes two rows one: ((kind of key, value…), how to say it)."""
    keys = []
    external_id = values.get("external_id", "").strip()
    if external_id:
        keys.append((("external_id", external_id), "the same external_id"))
    email = values.get("email", "").strip().lower()
    if email and kind == "customers":
        keys.append((("email", email), "the same email"))
    elif email:
        # A cancellation's day: the date part of cancelled_at as written, or "" (both are "now") when it is empty.
        day = values.get("cancelled_at", "").strip()[:10]
        keys.append((("email", email, day), "the same email and cancellation date"))
    return keys


def preview(kind: str, data: bytes, acting: User | None = None, progress: Progress | None = None) -> Preview:
    """Reads and checks the whole file without writing anything; `acting` is the staff member uploading it.

    `progress(n)` hears of every n rows checked (a batch).
    """
    result = read(kind, data, acting)
    if result.file_problem:
        return result
    lookups = Lookups()
    for batch in batches(result.rows):
        result.problems.extend(check_rows(kind, batch, acting, lookups))
        if progress:
            progress(len(batch))
    result.duplicates = duplicate_rows(kind, result.rows, result.bad_lines)
    return result


class ImportFailed(Exception):
    def __init__(self, line: int, errors: dict[str, str]):
        super().__init__(f"line {line}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.line, self.errors = line, errors


def import_rows(
    kind: str, rows: Rows, acting: User | None = None, progress: Progress | None = None, run_id: int | None = None
) -> int:
    """Writes every row, all of them or (on any error, the transaction rolled back) none; the caller commits.

    Rows are written a batch at a time (one flush each, the ORM inserting each table's rows together); the
    cancellations' emails are left in `import_mail` for `queue_import_mail`, after the commit. Who may change which
    customer is checked again here, at the time of writing: a customer may have been given to a colleague since
    the preview.
    """
    with collecting_by_batch() as collect:
        return _import_rows(kind, rows, acting, progress, run_id, collect)


@contextmanager
def collecting_by_batch() -> Iterator[Callable[[], None]]:
    """Python's cyclic garbage collector, left to itself, scans the heap a big import keeps growing again and again
    (more than half of the import's time at 10,000 rows); instead it runs once per batch, when asked, over what was
    made since the import began (what existed before, such as the file's rows, is frozen out of its sight)."""
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield gc.collect
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _import_rows(
    kind: str, rows: Rows, acting: User | None, progress: Progress | None, run_id: int | None, collect: Callable
) -> int:
    _plan_each_query_anew()
    lookups = Lookups()
    later = MailLater(live_version("exit-survey"), link_lifetime(), lookups.owner) if kind != "customers" else None
    intake = Intake(lookups.customer, lookups.upsert, later)
    for batch in batches(rows):
        invitations: list[Invitation | None] = []
        logged: list[Cancellation] = []
        lookups.load_customers(batch)
        collect()  # the last batch's objects, no longer referenced now: freed at once
        with db.session.no_autoflush:
            for line, values in batch:
                if refused := ownership_problems(values, acting, lookups):
                    db.session.rollback()
                    raise ImportFailed(line, refused)
                try:
                    if kind == "customers":
                        lookups.upsert({k: v for k, v in values.items() if v and k in FIELDS})
                    else:
                        logged.append(record_cancellation(cancellation_body(values), "csv", intake))
                        invitations.append(logged[-1].invitation)
                except InvalidCancellation as invalid:
                    db.session.rollback()
                    raise ImportFailed(line, invalid.errors) from None
        try:
            _number_new_rows()
            db.session.flush()
        except IntegrityError as error:  # e.g. a customer created by a request meanwhile, with the same external_id
            db.session.rollback()
            raise ImportFailed(batch[0][0], {"row": f"could not be written: {error.orig}"}) from None
        if logged:
            announce_logged(logged)
            queue_fetches(logged)
        mail = [{"invitation_id": invitation.id, "run_id": run_id} for invitation in invitations if invitation]
        if mail:
            db.session.execute(insert(ImportMail), mail)
        if progress:
            progress(len(batch))
    # One row for the import as a whole (log_cancellation leaves CSV rows out), by whoever uploaded it.
    audit.record(
        "import",
        ("import", kind),
        f"Imported {plural(len(rows), kind[:-1] + ' row', kind[:-1] + ' rows')} from CSV.",
        actor=acting,
    )
    return len(rows)


def _plan_each_query_anew() -> None:
    """On PostgreSQL, for the rest of the import's transaction, every query is planned for its own parameters.

    psycopg prepares a statement run five times, and PostgreSQL then keeps one generic plan for it, made for the
    tables as they were. Into an empty customers table that plan is a sequential scan, and the import's own rows
    make every later batch's lookup of customers by external_id slower (the import's time grew as the square of its
    rows: 13 s for 20,000, 152 s for 100,000). `SET LOCAL` ends with the transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _number_new_rows() -> None:
    """On PostgreSQL, gives the batch's new rows their ids from their sequences (one query per table), so that the
    flush inserts each table's rows with one executemany instead of one multi-row INSERT … RETURNING, whose
    thousands of parameters the driver would parse anew every time. SQLite's inserts are cheap as they are."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    waiting: dict[Any, list[Any]] = {}
    for row in db.session.new:
        if getattr(row, "id", None) is None:
            waiting.setdefault(type(row), []).append(row)
    for model, rows in waiting.items():
        ids = db.session.connection().scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": model.__tablename__, "count": len(rows)},
        )
        for row, row_id in zip(rows, ids, strict=True):
            row.id = row_id


def import_mail_waiting(run_id: int | None = None) -> int:
    query = select(func.count()).select_from(ImportMail)
    return db.session.scalar(query if run_id is None else query.where(ImportMail.run_id == run_id)) or 0


def queue_import_mail(limit: int = 200) -> int:
    """Queues the invitation and review request of up to `limit` imported cancellations, oldest first; flushes.

    They wait in `import_mail` from the import's commit: rendering two emails a row inside the import would make a
    big file's one transaction many times longer.
    """
    query = select(Invitation).join(ImportMail, ImportMail.invitation_id == Invitation.id)
    waiting = list(db.session.scalars(query.order_by(Invitation.id).limit(limit)))
    for invitation in waiting:
        queue_invitation_mail(invitation)
    if waiting:
        db.session.execute(delete(ImportMail).where(ImportMail.invitation_id.in_([i.id for i in waiting])))
    return len(waiting)
