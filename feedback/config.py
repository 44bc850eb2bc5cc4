"""Settings read from the environment (and a `.env` file), with safe development defaults."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

#: The development secret; refused outside development so that sessions and links can't be forged.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105

ENVIRONMENTS = ("development", "testing", "production")

#: Each limit's default, in Flask-Limiter's notation ("120 per minute", "10/hour;100/day").
RATE_LIMITS = {
    "API_RATE_LIMIT": "120 per minute",
    "WEBHOOK_RATE_LIMIT": "600 per minute",
    "LOGIN_RATE_LIMIT": "20 per minute",
    "FRESH_LINK_RATE_LIMIT": "10 per hour",
    "UNSUBSCRIBE_RATE_LIMIT": "60 per minute",
}

#: The outbox worker starts no message whose lease ends within this many SMTP timeouts (feedback.mail.delivery).
SEND_MARGIN_TIMEOUTS = 4


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _text(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "farewell.sqlite3")
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: str) -> dict[str, Any]:
    """Every setting Farewell reads, from the environment; see the README's table."""
    env = os.environ.get("FAREWELL_ENV", "production").strip() or "production"
    mail_server = os.environ.get("MAIL_SERVER", "").strip()
    return {
        "FAREWELL_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _int("MAIL_PORT", 25, minimum=1),
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(os.environ.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "").strip() or "farewell@localhost",
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 10, minimum=1),
        # With no SMTP server configured, development keeps mail in a local mailbox page instead.
        "MAIL_BACKEND": "smtp" if mail_server else "local",
        "BASE_URL": os.environ.get("BASE_URL", "").strip().rstrip("/") or "http://127.0.0.1:5000",
        "COMPANY_NAME": os.environ.get("COMPANY_NAME", "").strip() or "Farewell",
        "SURVEY_DELAY_MINUTES": _int("SURVEY_DELAY_MINUTES", 0),
        "SURVEY_LINK_DAYS": _int("SURVEY_LINK_DAYS", 30, minimum=1),
        # Defaults for the admin settings page (feedback/settings); an admin's value there wins.
        "SENDER_NAME": os.environ.get("SENDER_NAME", "").strip(),
        "REPLY_TO": os.environ.get("REPLY_TO", "").strip(),
        "SURVEY_INTRO": os.environ.get("SURVEY_INTRO", "").strip(),
        "LOGO_URL": os.environ.get("LOGO_URL", "").strip(),
        "ACCENT_COLOR": os.environ.get("ACCENT_COLOR", "").strip(),
        "CURRENCY": os.environ.get("CURRENCY", "").strip().upper() or "EUR",
        "OUTBOX_BACKOFF_SECONDS": _int("OUTBOX_BACKOFF_SECONDS", 60, minimum=1),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 8, minimum=1),
        "OUTBOX_LEASE_SECONDS": _int("OUTBOX_LEASE_SECONDS", 300, minimum=30),
        # While the SMTP server cannot be reached, mail is retried at most this far apart, for as long as it takes.
        "OUTBOX_OUTAGE_RETRY_SECONDS": _int("OUTBOX_OUTAGE_RETRY_SECONDS", 900, minimum=1),
        "SURVEY_REMINDER_DAYS": _int("SURVEY_REMINDER_DAYS", 4),
        # Ways in: the JSON API, Stripe, Standard Webhooks and CSV (see the README's "Ways in").
        "API_MAX_BODY_BYTES": _int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024),
        "CSV_MAX_BYTES": _int("CSV_MAX_BYTES", 50 * 1024 * 1024, minimum=1024),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", "").strip(),
        "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY", "").strip(),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "").strip().rstrip("/") or "https://api.stripe.com",
        "STRIPE_OWNER_EMAIL": os.environ.get("STRIPE_OWNER_EMAIL", "").strip(),
        "WEBHOOK_SECRET": os.environ.get("WEBHOOK_SECRET", "").strip(),
        # Rate limits (feedback/security.py): counted in memory per process, or in Redis shared by every app server.
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://",
        "RATELIMIT_KEY_PREFIX": "farewell",
        # Redis gone: count in memory meanwhile (and log it) rather than answer every request with a 500.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        **{name: _text(name, default) for name, default in RATE_LIMITS.items()},
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # Replies and bounces (see the README's "Replies and bounces"): all of them optional.
        "REPLY_ADDRESS": os.environ.get("REPLY_ADDRESS", "").strip(),
        "BOUNCE_ADDRESS": os.environ.get("BOUNCE_ADDRESS", "").strip(),
        "INBOUND_IMAP_URL": os.environ.get("INBOUND_IMAP_URL", "").strip(),
        "MAILGUN_SIGNING_KEY": os.environ.get("MAILGUN_SIGNING_KEY", "").strip(),
        "INBOUND_MAX_BYTES": _int("INBOUND_MAX_BYTES", 1024 * 1024, minimum=64 * 1024),
        # Privacy: postmortems older than this many months are anonymised by a job; 0 or unset keeps them.
        "RETENTION_MONTHS": _int("RETENTION_MONTHS", 0),
        # Operations: one line per request; "json" for a log collector, "text" for a person.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "").strip().lower() or "text",
    }


def finalize(config: dict[str, Any]) -> None:
    """Derive dependent settings and refuse configurations that would be unsafe to run."""
    env = config["FAREWELL_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"FAREWELL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}.")
    if not config.get("SECRET_KEY"):
        if env == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`, "
                "or set FAREWELL_ENV=development on your own machine (`make run` writes both into .env)."
            )
        config["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY
    if env == "production" and config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY:
        raise ConfigError("SECRET_KEY is the development default; set a real secret in production.")
    if env == "production" and config["MAIL_BACKEND"] != "smtp":
        raise ConfigError("MAIL_SERVER is not set; production needs an SMTP server to send surveys and summaries.")
    accent = config.get("ACCENT_COLOR", "")
    if accent and not (
        len(accent) == 7 and accent[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in accent[1:])
    ):
        raise ConfigError(f"ACCENT_COLOR must be # and six hexadecimal digits, e.g. #0f766e; got {accent!r}.")
    logo = config.get("LOGO_URL", "")
    if logo and not (logo.startswith("https://") or (logo.startswith("/") and not logo.startswith("//"))):
        raise ConfigError(f"LOGO_URL must be an https:// address or a path on this site; got {logo!r}.")
    margin = SEND_MARGIN_TIMEOUTS * config["MAIL_TIMEOUT"]
    if config["OUTBOX_LEASE_SECONDS"] <= margin:
        raise ConfigError(
            f"OUTBOX_LEASE_SECONDS ({config['OUTBOX_LEASE_SECONDS']}) must be longer than {SEND_MARGIN_TIMEOUTS} x "
            f"MAIL_TIMEOUT ({margin} s), or the worker claims mail and never sends it; raise it or lower MAIL_TIMEOUT."
        )
    for name in RATE_LIMITS:
        try:
            parse_many(config[name])
        except ValueError:
            raise ConfigError(f"{name} must be a rate limit such as '120 per minute', got {config[name]!r}.") from None
    currency = config.setdefault("CURRENCY", "EUR")
    if not is_currency(currency):
        raise ConfigError(f"CURRENCY must be an ISO 4217 code such as EUR, USD or GBP; got {currency!r}.")
    for name in ("REPLY_ADDRESS", "BOUNCE_ADDRESS"):
        _check_subaddressable(name, config.get(name, ""))
    _check_imap_url(config.get("INBOUND_IMAP_URL", ""))
    if config["MAIL_USE_TLS"] and config["MAIL_USE_SSL"]:
        raise ConfigError("MAIL_USE_TLS and MAIL_USE_SSL are exclusive: STARTTLS or implicit TLS, not both.")

    # Flask pre-fills these, so they are assigned, not defaulted: cookies are Secure exactly when BASE_URL is https.
    secure = config["BASE_URL"].startswith("https://")
    config["SESSION_COOKIE_SECURE"] = secure
    config["REMEMBER_COOKIE_SECURE"] = secure
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["PREFERRED_URL_SCHEME"] = "https" if secure else "http"
    # A departing customer may leave the survey open for hours; the CSRF token lives as long as the session.
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(config["SQLALCHEMY_DATABASE_URI"]))
    config["TESTING"] = config.get("TESTING", env == "testing")


def is_currency(code: str) -> bool:
    """An ISO 4217 code that Babel can format (EUR, USD, CHF...)."""
    from babel.numbers import list_currencies

    return code in list_currencies()


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: where a password may travel without TLS."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_imap_url(url: str) -> None:
    """Never echoes the URL: it holds the mailbox's password."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ConfigError("INBOUND_IMAP_URL must look like imaps://user:password@imap.example.com/INBOX.")
    if parts.scheme == "imap" and not is_loopback(parts.hostname):
        raise ConfigError("INBOUND_IMAP_URL may use imap:// (no TLS) only on loopback; use imaps://.")


def _check_subaddressable(name: str, address: str) -> None:
    """Farewell adds `+<key>` before the @, so the address must be a plain one without a + of its own."""
    local, at, domain = address.partition("@")
    if address and not (at and local and domain and "+" not in local and address.isascii() and " " not in address):
        raise ConfigError(
            f"{name} must be a plain address such as replies@example.com (no + and no name); got {address!r}."
        )


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    # No pool_pre_ping: feedback.db checks each connection at checkout without a round trip. Recycled hourly, so
    # that one lost without a word from the server is not kept for long.
    return {"pool_recycle": 3600}
