"""CSV imports of cancellations or customers: check every row first, then write all of them or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from feedback.cancellations.operations import InvalidCancellation, NewCancellation, check_cancellation
from feedback.customers.intake import BODY_NAMES, check_fields, record_cancellation
from feedback.customers.operations import FIELDS, find_customer, upsert_customer
from feedback.extensions import db
from feedback.imports.csvfiles import read_csv
from feedback.inputs.schemas import CUSTOMER

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


def preview(kind: str, data: bytes) -> Preview:
    """Reads and checks the whole file without writing anything."""
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
    for line, values in result.rows:
        for name, message in _row_problems(kind, values).items():
            result.problems.append((line, name, message))
    return result


class ImportFailed(Exception):
    def __init__(self, line: int, errors: dict[str, str]):
        super().__init__(f"line {line}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.line, self.errors = line, errors


def import_rows(kind: str, rows: list[tuple[int, dict[str, str]]]) -> int:
    """Writes every row, all of them or (on any error) none: the caller commits them together."""
    with db.session.begin_nested():
        for line, values in rows:
            try:
                if kind == "customers":
                    upsert_customer({k: v for k, v in values.items() if v and k in FIELDS})
                else:
                    record_cancellation(cancellation_body(values), source="csv")
            except InvalidCancellation as invalid:
                raise ImportFailed(line, invalid.errors) from None
    return len(rows)
