"""CSV imports of cancellations or customers: check every row first, then write all of them or none."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from feedback.cancellations.operations import InvalidCancellation, NewCancellation, check_cancellation
from feedback.customers.intake import BODY_NAMES, check_fields, record_cancellation
from feedback.customers.operations import FIELDS, find_customer, upsert_customer
from feedback.extensions import db
from feedback.imports.csvfiles import read_csv
from feedback.inputs.fields import normalize_email
from feedback.inputs.schemas import CUSTOMER

if TYPE_CHECKING:
    from feedback.auth.models import User

KINDS = ("cancellations", "customers")
CANCELLATION_COLUMNS = ("reason", "complaint", "cancelled_at", "feedback", "comment")
COLUMNS = {"customers": FIELDS, "cancellations": (*FIELDS, *CANCELLATION_COLUMNS)}
SAMPLE_HEADERS = {kind: ",".join(columns) for kind, columns in COLUMNS.items()}


@dataclass
class Preview:
    kind: str
    #: (line, values) for each row in the file.
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: (line, field, message); line 1 is the header.
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def bad_lines(self) -> set[int]:
        return {line for line, _, _ in self.problems}

    @property
    def valid_rows(self) -> list[tuple[int, dict[str, str]]]:
        return [(line, values) for line, values in self.rows if line not in self.bad_lines]

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


def _row_problems(kind: str, values: dict[str, str]) -> dict[str, str]:
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
    known = find_customer(customer["external_id"]) if customer.get("external_id") else None
    merged = {name: getattr(known, name) for name in FIELDS} if known else {}
    merged.update({k: v for k, v in customer.items() if v not in (None, "")})
    data = NewCancellation(
        customer_name=merged.get("name") or "",
        customer_email=merged.get("email") or "",
        owner_email=merged.get("owner_email") or "",
        company=merged.get("company") or "",
        plan=merged.get("plan") or "",
        mrr=merged.get("mrr"),
        customer_since=merged.get("customer_since"),
    )
    try:
        check_cancellation(data)
    except InvalidCancellation as invalid:
        for name, message in invalid.errors.items():
            errors.setdefault(BODY_NAMES.get(name, name).removeprefix("customer."), message)
    return {name: message for name, message in errors.items() if name in COLUMNS[kind] or name == "row"} or {}


def for_importer(values: dict[str, str], acting: User | None) -> dict[str, str]:
    """An account owner's row is theirs: without an owner_email, it names them. Admins' and the CLI's rows as given."""
    if acting is None or acting.is_admin or values.get("owner_email"):
        return values
    return {**values, "owner_email": acting.email}


def ownership_problems(values: dict[str, str], acting: User | None) -> dict[str, str]:
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
    known = find_customer(external_id) if external_id else None
    if known is not None and known.owner_email != acting.email:
        errors["external_id"] = (
            f"The customer {external_id} belongs to another account owner; only an admin can change it."
        )
    return errors


def preview(kind: str, data: bytes, acting: User | None = None) -> Preview:
    """Reads and checks the whole file without writing anything; `acting` is the staff member uploading it."""
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
    for line, values in result.rows:
        problems = {**ownership_problems(values, acting), **_row_problems(kind, values)}
        for name, message in problems.items():
            result.problems.append((line, name, message))
    return result


class ImportFailed(Exception):
    def __init__(self, line: int, errors: dict[str, str]):
        super().__init__(f"line {line}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.line, self.errors = line, errors


def import_rows(kind: str, rows: list[tuple[int, dict[str, str]]], acting: User | None = None) -> int:
    """Writes every row, all of them or (on any error, the transaction rolled back) none; the caller commits.

    Who may change which customer is checked again here, at the time of writing: a customer may have been given
    to a colleague since the preview.
    """
    for line, values in rows:
        if refused := ownership_problems(values, acting):
            db.session.rollback()
            raise ImportFailed(line, refused)
        try:
            if kind == "customers":
                upsert_customer({k: v for k, v in values.items() if v and k in FIELDS})
            else:
                record_cancellation(cancellation_body(values), source="csv")
        except InvalidCancellation as invalid:
            db.session.rollback()
            raise ImportFailed(line, invalid.errors) from None
    return len(rows)
