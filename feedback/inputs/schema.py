"""Declarative field rules: a `Field` says what a value must be, a `Schema` checks a whole input at once.

`check(values)` returns `(cleaned, errors)`, errors keyed by field name; each way in says them in its own words
(a message beside the form field, a CLI line naming the --option, problem+json `errors`, a CSV line and column).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from feedback.config import is_currency
from feedback.db import utcnow
from feedback.i18n import LANGUAGES, supported_locale
from feedback.inputs.fields import normalize_email
from feedback.inputs.text import ONE_LINE, flattened, multi_line, single_line

#: A BCP 47 language tag's shape: a language, then any subtags (de, de-CH, zh-Hant-TW; de_DE is read as de-DE).
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
#: Amounts are stored as NUMERIC(12, 2): below ten billion, in cents.
MAX_MONEY = Decimal("1e10")
CENTS = Decimal("0.01")


class Invalid(ValueError):
    """One field's problem: `problem` names its kind (required, too_long…) so a field may word it its own way."""

    def __init__(self, problem: str, message: str):
        super().__init__(message)
        self.problem = problem


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("type", "Must be a string.")
    return value


def _line(value: Any, strict: bool = True) -> str:
    if not strict:
        return flattened(_text(value))
    try:
        return single_line(_text(value)).strip()
    except ValueError:
        raise Invalid("control", ONE_LINE) from None


def _name(value: Any, strict: bool = True) -> str:
    return " ".join(_line(value, strict).split())


def _multi_line(value: Any, strict: bool = True) -> str:
    return multi_line(_text(value)).strip()


def _email(value: Any, strict: bool = True) -> str:
    address = _line(value, strict)
    if not address:
        return ""
    try:
        return normalize_email(address)
    except ValueError as error:
        raise Invalid("invalid", str(error)) from None


def _money(value: Any, strict: bool = True) -> Decimal | None:
    """An amount in the currency's main unit (49.5 means 49.50), as JSON numbers, CSV text or a form give it.

    Rounded to cents before the range is checked: 9999999999.995 would round to ten billion when stored.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise Invalid("invalid", "Must be a number, e.g. 49.00.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid("invalid", "Must be a number, e.g. 49.00.") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        raise Invalid("range", "Must be a positive amount below 10,000,000,000.")
    amount = amount.quantize(CENTS)
    if amount >= MAX_MONEY:
        raise Invalid("range", "Must be a positive amount below 10,000,000,000.")
    return abs(amount)  # never -0.00


def _date(value: Any, strict: bool = True) -> date | None:
    """A calendar date, YYYY-MM-DD, not in the future."""
    if value is None or value == "":
        return None
    if not isinstance(value, date):
        if not isinstance(value, str):
            raise Invalid("invalid", "Must be a date, YYYY-MM-DD.")
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid("invalid", "Must be a date, YYYY-MM-DD.") from None
    if isinstance(value, datetime):
        value = value.date()
    if value > utcnow().date():
        raise Invalid("future", "Must not be in the future.")
    return value


def _moment(value: Any, strict: bool = True) -> datetime | None:
    """An RFC 3339 date-time, not in the future; one without an offset is taken as UTC.

    A datetime handed over by code (a billing system's timestamp) is taken as it is.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise Invalid("invalid", "Must be a date-time, e.g. 2026-11-24T09:30:00Z.")
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid("invalid", "Must be a date-time, e.g. 2026-11-24T09:30:00Z.") from None
    if moment > utcnow():
        raise Invalid("future", "Must not be in the future.")
    return moment


def _language_tag(value: Any, strict: bool = True) -> str:
    tag = _line(value, strict)
    if tag and not LANGUAGE_TAG.match(tag):
        raise Invalid("invalid", "Must be a language tag, e.g. en, de or de-CH.")
    return tag


def _locale(value: Any, strict: bool = True) -> str | None:
    """One of the languages Farewell ships (de-CH reads as de); empty for none."""
    tag = _line(value, strict)
    if not tag:
        return None
    locale = supported_locale(tag)
    if locale is None:
        raise Invalid("invalid", f"Farewell speaks {', '.join(LANGUAGES)}; {tag!r} is not one of them.")
    return locale


def _currency(value: Any, strict: bool = True) -> str | None:
    """An ISO 4217 code (jpy reads as JPY) that Babel knows the minor units of; empty for the company's currency."""
    code = _line(value, strict).upper()
    if not code:
        return None
    if not is_currency(code):
        raise Invalid("invalid", "Must be an ISO 4217 currency code, e.g. EUR, USD or JPY.")
    return code


KINDS = {
    "line": _line,
    "currency": _currency,
    "name": _name,
    "text": _multi_line,
    "email": _email,
    "money": _money,
    "date": _date,
    "moment": _moment,
    "language_tag": _language_tag,
    "locale": _locale,
    "choice": _line,
}
#: Kinds whose value is a text with a length to keep to.
TEXT_KINDS = {"line", "name", "text", "email", "language_tag", "locale", "choice"}


@dataclass(frozen=True)
class Field:
    """One field's rule.

    `kind` is line (one line: control characters refused), name (one line, inner spaces collapsed), text (several
    lines: control characters dropped), email, money, currency (an ISO 4217 code), date, moment (a date-time),
    language_tag, locale (a language Farewell ships) or choice (one of `choices`, or empty).
    """

    name: str
    kind: str = "line"
    max_length: int | None = None
    required: bool = False
    choices: tuple[str, ...] = ()
    #: The field's own wording for a problem (required, too_long, invalid, range, future, control, type), where
    #: "{limit:,}" is the maximum length and "{error}" the general message.
    messages: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def clean(self, value: Any, required: bool | None = None, strict: bool = True) -> Any:
        """The value checked and tidied; raises Invalid. Not `strict`, a single-line value is made one line rather
        than refused."""
        cleaned = KINDS[self.kind](value, strict)
        if cleaned in (None, ""):
            if self.required if required is None else required:
                raise Invalid("required", "Required.")
            return cleaned
        if self.kind in TEXT_KINDS and self.max_length is not None and len(cleaned) > self.max_length:
            raise Invalid("too_long", f"Keep this under {self.max_length:,} characters.")
        if self.kind == "choice" and cleaned not in self.choices:
            raise Invalid("invalid", f"Must be one of {', '.join(self.choices)}.")
        return cleaned

    def say(self, problem: Invalid) -> str:
        wording = self.messages.get(problem.problem)
        return wording.format(limit=self.max_length, error=str(problem)) if wording else str(problem)


class Schema:
    """The fields of one kind of input, in the order documents and CSV files list them."""

    def __init__(self, *fields: Field):
        self.fields = {f.name: f for f in fields}

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]

    def unknown(self, values: Iterable[str]) -> list[str]:
        """The names in `values` that this kind of input does not have."""
        return [name for name in values if name not in self.fields]

    def check(
        self,
        values: Mapping[str, Any],
        *,
        only: Iterable[str] | None = None,
        optional: Collection[str] = (),
        given_only: bool = False,
        strict: bool = True,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Returns (cleaned, errors), every problem at once.

        `only` checks some of the fields; `optional` lifts `required` from some (a caller with a default for
        them); `given_only` checks just the fields present in `values` (an update that changes those). Not
        `strict`, control characters in single-line fields become spaces instead of errors: for an operation that
        must store nothing harmful whoever calls it, while each way in refuses them first.
        """
        cleaned: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in self.fields if only is None else only:
            rule = self.fields[name]
            if given_only and name not in values:
                continue
            try:
                required = rule.required and name not in optional
                cleaned[name] = rule.clean(values.get(name), required=required, strict=strict)
            except Invalid as problem:
                errors[name] = rule.say(problem)
        return cleaned, errors
