"""How dates and money read, in pages, emails and the command line alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal


def format_datetime(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%-d %b %Y, %H:%M UTC") if with_time else value.strftime("%-d %b %Y")


def format_date(value: Any) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def format_money(value: Decimal | None, currency: str | None = None, locale: str = "en") -> str:
    """49.00 with its currency as a reader of `locale` writes it ("€49.00", "49,00 €"); bare without a currency."""
    if value is None:
        return ""
    if not currency:
        return f"{value:,.2f}"
    return _format_currency(value, currency, locale)


@lru_cache(maxsize=4096)
def _format_currency(value: Decimal, currency: str, locale: str) -> str:
    """Babel reads its locale data on every call; a page of tables shows the same few amounts many times."""
    return format_currency(value, currency, locale=locale)


def plural(number: int, one: str, many: str, locale: str = "en") -> str:
    """ "1 email", "5,000 emails": the number as `locale` writes it, the noun its plural rule picks; never "(s)"."""
    form = _plural_form(locale, number)
    return f"{format_decimal(number, locale=locale)} {one if form == 'one' else many}"


def number(value: int, locale: str = "en") -> str:
    """5,000 rather than 5000, wherever a count is shown."""
    return format_decimal(value, locale=locale)


@lru_cache(maxsize=64)
def _plural_form(locale: str, number: int) -> str:
    return Locale.parse(locale).plural_form(abs(number))
