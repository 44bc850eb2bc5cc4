"""The settings admins change on the web, read through one accessor that every feature uses."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy.exc import SQLAlchemyError

from feedback import audit
from feedback.config import is_currency
from feedback.extensions import db
from feedback.settings.models import SiteSettings

log = logging.getLogger(__name__)

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5


@dataclass(frozen=True)
class Settings:
    company_name: str
    sender_name: str
    #: Empty: replies go to the account owner of the cancellation.
    reply_to: str
    #: Empty: the survey page's own introduction.
    survey_intro: str
    survey_delay_minutes: int
    survey_link_days: int
    logo_url: str
    accent_color: str
    #: ISO 4217, e.g. EUR.
    currency: str


def defaults() -> Settings:
    """What configuration says, before any admin has changed anything."""
    config = current_app.config
    return Settings(
        company_name=config["COMPANY_NAME"],
        sender_name=config.get("SENDER_NAME") or config["COMPANY_NAME"],
        reply_to=config.get("REPLY_TO", ""),
        survey_intro=config.get("SURVEY_INTRO", ""),
        survey_delay_minutes=config["SURVEY_DELAY_MINUTES"],
        survey_link_days=config["SURVEY_LINK_DAYS"],
        logo_url=config.get("LOGO_URL", ""),
        accent_color=config.get("ACCENT_COLOR", ""),
        currency=config.get("CURRENCY", "EUR"),
    )


def _load() -> Settings:
    try:
        stored = db.session.get(SiteSettings, 1)
    except SQLAlchemyError:
        # The database is unreachable: pages (the error page first of all) still render, with configuration's values.
        log.exception("Could not read the settings; using configuration's")
        db.session.rollback()
        return defaults()
    return settings_from(tuple(getattr(stored, f.name) for f in fields(Settings)) if stored is not None else None)


def settings_columns() -> list[Any]:
    """The settings row's columns, for a page that reads them in its own query (see `use_settings_row`)."""
    columns = (getattr(SiteSettings, f.name).label(f"settings_{f.name}") for f in fields(Settings))
    return [SiteSettings.id.label("settings_row"), *columns]


#: How many different settings rows a process remembers (an admin saving twice makes two; old ones are dropped).
_REMEMBERED = 4


def settings_from(stored: tuple[Any, ...] | None) -> Settings:
    """The settings a stored row's values (in `Settings` order; None: no row) make, remembered per app by them.

    The key is what the row holds, so a row changed by another process is a new key at once: a page that read
    the row in its own query (the survey's) never sees stale settings, and building them is done once per change.
    """
    base = defaults()  # part of the key too: configuration fills what the row leaves empty
    remembered = current_app.extensions.setdefault("farewell_settings", {})
    built = remembered.get((base, stored))
    if built is None:
        built = _build(base, stored)
        if len(remembered) >= _REMEMBERED:
            remembered.clear()
        remembered[(base, stored)] = built
    return built


def _build(base: Settings, stored: tuple[Any, ...] | None) -> Settings:
    if stored is None:
        return base
    values = dict(zip((f.name for f in fields(Settings)), stored, strict=True))
    changed = {name: value for name, value in values.items() if value not in (None, "")}
    if "company_name" in changed and not values["sender_name"] and not current_app.config.get("SENDER_NAME"):
        changed["sender_name"] = changed["company_name"]  # the sender follows the company unless set apart
    return Settings(**{**asdict(base), **changed})


def use_settings_row(row: Any) -> None:
    """For a page that selected `settings_columns()` in its own query: this request's settings come from them."""
    if has_request_context():
        names = [f"settings_{f.name}" for f in fields(Settings)]
        stored = tuple(getattr(row, name) for name in names) if row.settings_row is not None else None
        g.farewell_settings = settings_from(stored)


def current_settings() -> Settings:
    """Read once per request; outside a request (the worker, the CLI), once per transaction.

    The worker and the CLI commit often (the outbox after every message), so a change an admin saves reaches them
    at their next transaction. Within one, the row is read once: with no row saved yet, `Session.get` has nothing
    to find in the identity map and asked the database again for every email (a third of the time of queueing an
    import's emails).
    """
    if not has_request_context():
        remembered = db.session.info.get("farewell_settings")
        transaction = db.session().get_transaction()
        if remembered is not None and transaction is not None and remembered[0] is transaction:
            return remembered[1]
        settings = _load()
        db.session.info["farewell_settings"] = (db.session().get_transaction(), settings)
        return settings
    if "farewell_settings" not in g:
        g.farewell_settings = _load()
    return g.farewell_settings


def sender_name() -> tuple[str, bool]:
    """The From line's name for mail (registered with mail at start-up), and whether an admin chose it."""
    settings = current_settings()
    return settings.sender_name, settings.sender_name != defaults().sender_name


def stored_settings() -> dict[str, Any]:
    """What the admin set, column by column (None where configuration decides), for the form."""
    stored = db.session.get(SiteSettings, 1)
    return {f.name: getattr(stored, f.name) if stored else None for f in fields(Settings)}


def save_settings(values: dict[str, Any], updated_by_id: int | None = None) -> Settings:
    """Stores what the admin typed; an empty value hands the setting back to configuration."""
    stored = db.session.get(SiteSettings, 1) or SiteSettings(id=1)
    changed = sorted(
        name for name in values if getattr(stored, name, None) != (None if values[name] in ("", None) else values[name])
    )
    for f in fields(Settings):
        if f.name in values:
            value = values[f.name]
            setattr(stored, f.name, None if value in ("", None) else value)
    stored.updated_by_id = updated_by_id
    db.session.add(stored)
    db.session.flush()
    audit.record("settings.save", ("settings", 1), "Changed: " + (", ".join(changed) or "nothing") + ".")
    if has_request_context():
        g.pop("farewell_settings", None)
    db.session.info.pop("farewell_settings", None)
    return current_settings()


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g_, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g_) + 0.0722 * channel(b)


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on this colour."""
    return 1.05 / (_luminance(colour) + 0.05)


def accent_problem(colour: str) -> str | None:
    if not HEX_COLOUR.match(colour):
        return "Enter the colour as # and six hexadecimal digits, e.g. #0f766e."
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        return (
            f"White text on {colour} has a contrast of {ratio:.2f}:1; it needs at least {MIN_CONTRAST}:1 "
            "to stay readable. Choose a darker colour."
        )
    return None


def currency_problem(code: str) -> str | None:
    if is_currency(code.upper()):
        return None
    return "Enter an ISO 4217 currency code of three letters, e.g. EUR, USD or GBP."


def logo_problem(url: str) -> str | None:
    if url.startswith("https://") and len(url) > len("https://") and " " not in url:
        return None
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return None
    return "The logo must be an https:// address or a path on this site starting with /."
