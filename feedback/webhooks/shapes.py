"""Reading a billing system's signed event: each value checked for the type its vendor documents, or MalformedEvent
naming the place (a 400, never a guess and never a 500)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import UnknownCurrencyError, get_currency_precision

from feedback.inputs.text import CONTROLS

log = logging.getLogger(__name__)

#: The timestamps vendors send are seconds since 1970; beyond the year 9999 none is real, and datetime can't hold it.
LAST_TIMESTAMP = 253402300799
#: Far above any real price or quantity, well inside what the arithmetic and the checks below handle.
LARGEST_COUNT = 10**15
#: A billing period in months, whichever way a vendor names its unit.
MONTHS_PER_INTERVAL = {"day": Decimal(12) / Decimal(365), "week": Decimal(12) / Decimal(52), "month": 1, "year": 12}


class MalformedEvent(ValueError):
    """A signed event not shaped as its vendor documents it (a quantity of 1.5, items that are not a list): a 400
    that names the place, never a guess and never a 500."""


def as_object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(f"{where} must be an object.")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedEvent(f"{where} must be a list.")
    return value


def as_string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedEvent(f"{where} must be a string.")
    return value


def as_whole(value: Any, where: str, low: int = 0, high: int = LARGEST_COUNT) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedEvent(f"{where} must be a whole number from {low} to {high}.")
    return value


def as_moment(value: Any, where: str) -> datetime | None:
    seconds = as_whole(value, where, 0, LAST_TIMESTAMP)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def as_instant(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time as Paddle sends it ("2024-04-12T11:24:54.868000Z"), in UTC."""
    text = as_string(value, where)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent(f"{where} must be an RFC 3339 time.") from None
    if moment.tzinfo is None:
        raise MalformedEvent(f"{where} must say its offset from UTC.")
    return moment.astimezone(UTC)


def as_identifier(value: Any, where: str, required: bool = True) -> str:
    """An id we store and look up: 1 to 255 printable characters."""
    text = as_string(value, where)
    if (required or text) and (not text or len(text) > 255 or CONTROLS.search(text)):
        raise MalformedEvent(f"{where} must be an id of 1 to 255 printable characters.")
    return text


def currency_digits(code: Any, where: str) -> int:
    """How many minor units the ISO 4217 currency has (JPY 0, USD 2, BHD 3), as Babel knows it."""
    text = as_string(code, where)
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise MalformedEvent(f"{where} must be an ISO 4217 currency code.")
    try:
        return int(get_currency_precision(text.upper()))
    except UnknownCurrencyError:
        raise MalformedEvent(f"{where} must be an ISO 4217 currency code.") from None


def monthly(amount: int, quantity: int, interval: str, count: int, digits: int) -> Decimal | None:
    """A price per period as revenue per month, in the currency's main unit; None for a period we can't tell."""
    if interval not in MONTHS_PER_INTERVAL:
        return None
    months = Decimal(count) * Decimal(MONTHS_PER_INTERVAL[interval])  # a period of `count` intervals, in months
    per_month = Decimal(amount) * quantity / Decimal(10) ** digits / months
    return per_month.quantize(Decimal("0.01"))


def total(amounts: list[Decimal | None]) -> Decimal | None:
    """The items' sum, or None when no item's monthly amount is known."""
    known = [amount for amount in amounts if amount is not None]
    return sum(known, Decimal(0)) if known else None


def fetch_json(url: str, headers: dict[str, str], what: str) -> Any:
    """GET a vendor's API with a 10-second timeout; None (logged) when it can't tell us or is unreachable."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https or a test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        log.warning("%s could not be fetched: %s", what, error)
        return None
