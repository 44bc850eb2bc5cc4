"""The customer's language: the cancellation's locale, else the browser's, else English.

Staff pages stay in English; only the customer's pages (the survey and the error pages a customer can reach)
follow the browser. Catalogues live in feedback/translations and are compiled by the build (docs/customers.md).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, has_request_context, request
from flask_babel import force_locale, refresh

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "en"
#: Every language the customer's pages and emails ship in, with its name in that language.
LANGUAGES = {"en": "English", "de": "Deutsch", "fr": "Français"}
#: Blueprints whose pages a customer sees; None is a page no route matched (a customer's mistyped link).
CUSTOMER_BLUEPRINTS = {"surveys", "unsubscribe", None}


def supported_locale(value: str | None) -> str | None:
    """`de`, `de-CH` and `de_DE` all mean German; anything we don't ship is None."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    for candidate in (tag, tag.split("-")[0]):
        if candidate in LANGUAGES:
            return candidate
    return None


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    chosen = g.get("customer_locale")
    if chosen:
        return chosen
    if has_request_context() and request.blueprint in CUSTOMER_BLUEPRINTS:
        # In the browser's order of preference, fr-CH counting as fr (werkzeug's best_match would prefer a
        # less wanted exact match over it).
        for tag, _quality in request.accept_languages:
            if supported_locale(tag):
                return supported_locale(tag)
    return DEFAULT_LOCALE


def use_customer_locale(locale: str | None) -> None:
    """For this request, the cancellation's own locale wins over the browser's."""
    if supported_locale(locale):
        g.customer_locale = supported_locale(locale)
        refresh()  # forget a locale chosen earlier in this request


def customer_locale(locale: str | None) -> AbstractContextManager[None]:
    """Renders what is inside in the customer's language, e.g. an email queued from a staff request."""
    return force_locale(supported_locale(locale) or DEFAULT_LOCALE)


def catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    return sorted(directory.glob("*/LC_MESSAGES/messages.po"))


def compile_catalogues(directory: Path = TRANSLATIONS, only_stale: bool = False) -> list[Path]:
    """Compiles each .po into its .mo, as `pybabel compile` in the build does; returns the .mo files written."""
    written = []
    for po in catalogues(directory):
        mo = po.with_suffix(".mo")
        if only_stale and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        with mo.open("wb") as target:
            write_mo(target, catalog)
        written.append(mo)
    return written
