"""Settings read from the environment (and a `.env` file), with safe development defaults."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

#: The development secret; refused outside development so that sessions and links can't be forged.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105

ENVIRONMENTS = ("development", "testing", "production")

#: The outbox worker starts no message whose lease ends within this many SMTP timeouts (feedback.mail.delivery).
SEND_MARGIN_TIMEOUTS = 4


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(raw: str, default: bool = False) -> bool:
    if raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, raw: str, default: int, minimum: int = 0) -> int:
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "farewell.sqlite3")
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Setting:
    """One environment variable Farewell reads: the only place its name, default and meaning are written.

    `from_environment` reads every setting through this table and docs/settings.md is generated from it
    (`make docs`, tests/test_docs.py), so the documentation cannot drift from what the code does.
    """

    name: str
    #: The value when the variable is unset or empty (None: no value).
    default: Any
    #: What it is for, in a sentence or two of Markdown for the settings page.
    doc: str
    #: True when an admin's value under Admin → Settings (stored in site_settings) wins over this one.
    admin_overridable: bool = False
    #: How the raw text is read: text, upper, lower, url (no trailing /), secret (kept as typed), optional, int, bool.
    kind: str = "text"
    #: The smallest whole number accepted (kind int).
    minimum: int = 0
    #: How the default reads in the docs, when the value alone would not say it.
    shown_default: str | None = None

    def read(self, environ: Mapping[str, str]) -> Any:
        """This setting's value from `environ`; a malformed one raises ConfigError naming it."""
        raw = environ.get(self.name, "")
        if self.kind == "int":
            return _int(self.name, raw, self.default, self.minimum)
        if self.kind == "bool":
            return _bool(raw, self.default)
        if self.kind == "secret":
            return raw
        if self.kind == "optional":
            return raw or None
        value = raw.strip()
        if self.kind == "upper":
            value = value.upper()
        elif self.kind == "lower":
            value = value.lower()
        elif self.kind == "url":
            value = value.rstrip("/")
        return value or self.default

    @property
    def default_in_docs(self) -> str:
        """`25`, `true`, `Farewell`, or "none": the default as the settings table shows it."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == "":
            return "none"
        if isinstance(self.default, bool):
            return "`true`" if self.default else "`false`"
        return f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "FAREWELL_ENV",
        "production",
        "`development`, `testing` or `production`. `make run` sets `development`.",
    ),
    Setting(
        "SECRET_KEY",
        "",
        "Signs sessions and survey links. **Required in production**: Farewell refuses to start without it, or "
        "with the development default. Generate one with "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`.",
        kind="secret",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL. PostgreSQL in production: `postgresql+psycopg://user:pass@host/db` (`postgres://` URLs "
        "are accepted too). SQLite runs in WAL mode with a 15 s busy timeout.",
        shown_default="SQLite file `instance/farewell.sqlite3`",
    ),
    Setting(
        "BASE_URL",
        "http://127.0.0.1:5000",
        "The absolute root for links in emails. Session cookies are `Secure` exactly when it starts with `https://`.",
        kind="url",
        shown_default="`http://127.0.0.1:5000`, or the `PORT` in use",
    ),
    Setting(
        "PORT",
        5000,
        "The port `make run` serves on (`make run PORT=5701` where 5000 is taken, as by macOS's AirPlay receiver); "
        "the default `BASE_URL` follows it, so links in emails do too.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "COMPANY_NAME",
        "Farewell",
        "Your company's name, as customers see it in emails and on the survey.",
        admin_overridable=True,
    ),
    Setting(
        "MAIL_SERVER",
        "",
        "SMTP host. Unset in development: mail goes to the local Sent mail page. Required in production.",
    ),
    Setting("MAIL_PORT", 25, "SMTP port.", kind="int", minimum=1),
    Setting("MAIL_USE_TLS", False, "STARTTLS after connecting (usually port 587).", kind="bool"),
    Setting("MAIL_USE_SSL", False, "Implicit TLS (usually port 465). Not together with `MAIL_USE_TLS`.", kind="bool"),
    Setting("MAIL_USERNAME", None, "SMTP login, together with `MAIL_PASSWORD`.", kind="optional"),
    Setting("MAIL_PASSWORD", None, "SMTP password, together with `MAIL_USERNAME`.", kind="optional"),
    Setting(
        "MAIL_DEFAULT_SENDER",
        "farewell@localhost",
        "The From address; without a display name, the sender name (or the company name) is used.",
    ),
    Setting(
        "MAIL_TIMEOUT",
        10,
        "Seconds before an SMTP connection or command gives up (Flask-Mail has no timeout of its own).",
        kind="int",
        minimum=1,
    ),
    Setting(
        "SURVEY_DELAY_MINUTES",
        0,
        "How long after the cancellation the customer's invitation goes out. The owner hears at once.",
        admin_overridable=True,
        kind="int",
    ),
    Setting(
        "SURVEY_LINK_DAYS",
        30,
        "How long a survey link works. An expired link gets a kind page offering to email a fresh one.",
        admin_overridable=True,
        kind="int",
        minimum=1,
    ),
    Setting(
        "SENDER_NAME",
        "",
        "Default sender name for emails.",
        admin_overridable=True,
        shown_default="the company name",
    ),
    Setting(
        "REPLY_TO",
        "",
        "Default Reply-To for survey invitations; empty means the cancellation's account owner.",
        admin_overridable=True,
    ),
    Setting(
        "SURVEY_INTRO",
        "",
        "Default introduction on the survey page, in place of the standard one.",
        admin_overridable=True,
    ),
    Setting(
        "LOGO_URL",
        "",
        "Default logo above customer pages: a path on this site (e.g. a file you serve under `/static/`), or an "
        "`https://` address. A path keeps every request on this server; an outside address means the customer's "
        "browser fetches the logo from there, which Farewell otherwise never asks it to do.",
        admin_overridable=True,
    ),
    Setting(
        "ACCENT_COLOR",
        "",
        "Default accent colour of customer pages, `#rrggbb`.",
        admin_overridable=True,
    ),
    Setting(
        "CURRENCY",
        "EUR",
        "The ISO 4217 code MRR is shown in, on staff pages and in emails (`€49.00`, `$49.00`).",
        admin_overridable=True,
        kind="upper",
    ),
    Setting(
        "OUTBOX_BACKOFF_SECONDS",
        60,
        "First retry delay after a failed send; it doubles with every attempt, with jitter.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "OUTBOX_MAX_ATTEMPTS",
        8,
        "After this many failed attempts a message is marked failed (kept whole). A permanent refusal (5xx for "
        "the recipient) fails at once.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "OUTBOX_LEASE_SECONDS",
        300,
        "How long a worker's claim on a batch lasts. Messages claimed by a worker that died are sent by another "
        "once it runs out. At least 30, and longer than 4 × `MAIL_TIMEOUT` (the worker starts no message whose "
        "lease ends sooner): a shorter one is refused at start.",
        kind="int",
        minimum=30,
    ),
    Setting(
        "OUTBOX_OUTAGE_RETRY_SECONDS",
        900,
        "While the SMTP server cannot be reached, the longest wait between two tries. An outage never counts "
        "towards `OUTBOX_MAX_ATTEMPTS`: mail waits it out, for days if need be.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "SURVEY_REMINDER_DAYS",
        4,
        "Days after the invitation went out before one gentle reminder, if the survey is still unanswered. `0` "
        "turns reminders off.",
        kind="int",
    ),
    Setting(
        "API_MAX_BODY_BYTES",
        64 * 1024,
        "Largest body `/api/v1` and `/webhooks/*` accept; larger is a 413.",
        kind="int",
        minimum=1024,
    ),
    Setting(
        "CSV_MAX_BYTES",
        50 * 1024 * 1024,
        "Largest CSV file the import page accepts (50 MB, about 250,000 rows; the file is stored in the database "
        "until the worker has imported it).",
        kind="int",
        minimum=1024,
    ),
    Setting(
        "IMPORT_UNCONFIRMED_DAYS",
        7,
        "An upload checked but never confirmed is discarded (its file and problems) this many days after its check.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "INVOLUNTARY_SURVEY",
        False,
        "A cancellation for a failed or disputed payment gets no exit survey and no review request unless this is "
        "true (an owner can still start one from its page). See [Stripe](billing-stripe.md).",
        kind="bool",
    ),
    Setting(
        "DUPLICATE_WINDOW_DAYS",
        30,
        "A cancellation for a customer whose postmortem is still open, or was summarised this many days ago or "
        "less, joins that postmortem instead of starting a second one.",
        kind="int",
    ),
    Setting(
        "WEBHOOK_ALLOW_PRIVATE_HOSTS",
        False,
        "Outbound webhooks may go to loopback, private, link-local and metadata addresses only when this is true "
        "(on-premises receivers, tests). See [Outbound webhooks](webhooks-outbound.md).",
        kind="bool",
    ),
    Setting("WEBHOOK_TIMEOUT_SECONDS", 10, "How long one outbound webhook delivery may take.", kind="int", minimum=1),
    Setting(
        "WEBHOOK_LEASE_SECONDS",
        300,
        "How long a worker holds a claimed webhook delivery before another may take it over.",
        kind="int",
        minimum=60,
    ),
    Setting(
        "STRIPE_WEBHOOK_SECRET",
        "",
        "The endpoint's signing secret (`whsec_...`) from Stripe. Several, comma-separated, while you roll one. "
        "Unset: `/webhooks/stripe` answers 503.",
    ),
    Setting(
        "STRIPE_API_KEY",
        "",
        "A restricted key with read access to customers (`rk_...`/`sk_...`). When set, a cancelled customer we "
        "don't know is looked up with `GET /v1/customers/ID`.",
    ),
    Setting(
        "STRIPE_API_BASE",
        "https://api.stripe.com",
        "Where that lookup goes (tests point it at a local fake).",
        kind="url",
    ),
    Setting(
        "STRIPE_OWNER_EMAIL",
        "",
        "The staff member who owns Stripe cancellations when the customer names none (`metadata.owner_email`, or "
        "a known customer's `owner_email`). Unset: the first admin.",
    ),
    Setting(
        "PADDLE_WEBHOOK_SECRET",
        "",
        "The notification destination's secret key (`pdl_ntfset_...`) from Paddle. Several, comma-separated, while "
        "you roll one. Unset: `/webhooks/paddle` answers 503.",
    ),
    Setting(
        "PADDLE_API_KEY",
        "",
        "A Paddle API key that may read customers. When set, a cancelled customer we don't know is looked up "
        "with `GET /customers/ID`; unset, their postmortem waits for contact details.",
    ),
    Setting(
        "PADDLE_API_BASE",
        "https://api.paddle.com",
        "Where that lookup goes (`https://sandbox-api.paddle.com` for the sandbox; tests point it at a local fake).",
        kind="url",
    ),
    Setting(
        "CHARGEBEE_WEBHOOK_USERNAME",
        "",
        "The user name set under Chargebee's webhook *Protect webhook URL with basic authentication*. Unset (with "
        "or without the password): `/webhooks/chargebee` answers 503.",
    ),
    Setting(
        "CHARGEBEE_WEBHOOK_PASSWORD",
        "",
        "The password set beside `CHARGEBEE_WEBHOOK_USERNAME`.",
        kind="secret",
    ),
    Setting(
        "WEBHOOK_SECRET",
        "",
        "The Standard Webhooks secret (`whsec_` + base64) for `/webhooks/cancellations`. Several, "
        "comma-separated, while you roll one. Unset: 503.",
    ),
    Setting(
        "ZENDESK_URL",
        "",
        "Your Zendesk, `https://yourco.zendesk.com`. With `ZENDESK_EMAIL` and `ZENDESK_API_TOKEN` set, each "
        "cancellation brings the customer's tickets into its postmortem. See [Zendesk](integrations/zendesk.md).",
        kind="url",
    ),
    Setting("ZENDESK_EMAIL", "", "The Zendesk agent whose API token Farewell uses (read-only rights suffice)."),
    Setting(
        "ZENDESK_API_TOKEN", "", "That agent's API token (Admin Center → Apps and integrations → APIs).", kind="secret"
    ),
    Setting(
        "FRESHDESK_URL",
        "",
        "Your Freshdesk, `https://yourco.freshdesk.com`; with `FRESHDESK_API_KEY`, used when Zendesk is not set. "
        "See [Freshdesk](integrations/freshdesk.md).",
        kind="url",
    ),
    Setting("FRESHDESK_API_KEY", "", "An agent's API key (Profile settings → View API key).", kind="secret"),
    Setting(
        "HELPSCOUT_APP_ID",
        "",
        "A Help Scout OAuth2 app's id (Your Profile → My Apps); with the secret, "
        "used when neither Zendesk nor Freshdesk is set.",
    ),
    Setting("HELPSCOUT_APP_SECRET", "", "That app's secret.", kind="secret"),
    Setting(
        "HELPSCOUT_API_URL",
        "https://api.helpscout.net",
        "Where Help Scout's API is (tests point it at a local fake).",
        kind="url",
    ),
    Setting(
        "HELPDESK_LOOKBACK_DAYS",
        365,
        "How far back before a cancellation the customer's help-desk conversations are read and shown.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "COMPLAINT_WINDOW_DAYS",
        30,
        "A conversation this many days or fewer before a cancellation counts as a recent complaint.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "HELPDESK_MAX_RESPONSE_BYTES",
        2_000_000,
        "The largest answer read from a help desk; a bigger one is refused mid-read, as a failed attempt.",
        kind="int",
        minimum=10_000,
    ),
    Setting(
        "RATELIMIT_ENABLED",
        True,
        "`false` turns every rate limit off.",
        kind="bool",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        "Where the rate limits count: `memory://` counts per process (development); set `redis://host:6379/0` in "
        "production so every app server shares the counts. If Redis stops answering, each process counts in "
        "memory meanwhile and logs it.",
    ),
    Setting(
        "API_RATE_LIMIT",
        "120 per minute",
        "Requests to `/api/v1` per token, and separately per client address. Over it: 429 problem+json with "
        "`Retry-After`. Every limit takes Flask-Limiter's notation, e.g. `10/minute;500/day`; a malformed one is "
        "refused at start.",
    ),
    Setting("WEBHOOK_RATE_LIMIT", "600 per minute", "Deliveries to `/webhooks/*` per client address."),
    Setting(
        "OIDC_ISSUER",
        None,
        "Single sign-on: the OpenID provider's issuer URL (discovery at `/.well-known/openid-configuration`). Unset: "
        "no single sign-on.",
        kind="url",
    ),
    Setting("OIDC_CLIENT_ID", None, "Single sign-on: the client id registered at the provider.", kind="optional"),
    Setting("OIDC_CLIENT_SECRET", None, "Single sign-on: that client's secret.", kind="optional"),
    Setting("OIDC_SCOPES", "openid email profile", "Single sign-on: the scopes asked for."),
    Setting("OIDC_NAME", "single sign-on", "The provider's name on the login button: *Sign in with NAME*."),
    Setting(
        "OIDC_ALLOWED_DOMAINS",
        "",
        "Comma-separated email domains whose people get an account (account owner) at their first single sign-on. "
        "Empty: only existing staff may sign in.",
    ),
    Setting(
        "OIDC_ROLES_CLAIM",
        "",
        "An ID token claim holding groups or roles (e.g. `groups`); with it, the role is set at every sign-in.",
    ),
    Setting("OIDC_ADMIN_VALUES", "", "Comma-separated values of OIDC_ROLES_CLAIM that make someone an admin."),
    Setting(
        "OIDC_ONLY",
        False,
        "`true`: passwords are off (login form, reset); staff sign in only through the provider. "
        "`flask users set-password` is the break-glass way back.",
        kind="bool",
    ),
    Setting(
        "REQUIRE_2FA",
        None,
        "Who must sign in with a second factor (a TOTP code) after their password: `admins`, `everyone` or `off`. "
        "Staff not yet enrolled are taken through enrolment at their next sign-in.",
        kind="lower",
        shown_default="`admins` in production, `off` in development and testing",
    ),
    Setting(
        "LOGIN_RATE_LIMIT",
        "20 per minute",
        "Login attempts (POST) per client address, on top of the login throttle.",
    ),
    Setting(
        "FRESH_LINK_RATE_LIMIT",
        "10 per hour",
        "Presses of *Email me a new link* on expired survey pages, per client address.",
    ),
    Setting(
        "UNSUBSCRIBE_RATE_LIMIT",
        "60 per minute",
        "Unsubscribe POSTs (the page's button and mail clients' one-click) per client address.",
    ),
    Setting(
        "PASSWORD_RESET_RATE_LIMIT",
        "10 per hour",
        "Password-reset requests per client address (a 429 page past it).",
    ),
    Setting(
        "PASSWORD_RESET_EMAIL_RATE_LIMIT",
        "1 per 5 minutes",
        "Password-reset emails to one address: past it the page says the same and no email goes, so nobody can "
        "fill a colleague's inbox with resets.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "How many proxies in front of Farewell set `X-Forwarded-For`/`X-Forwarded-Proto`. Behind one (a load "
        "balancer), set `1`, or every client has the proxy's address and shares its limits.",
        kind="int",
    ),
    Setting(
        "REPLY_ADDRESS",
        "",
        "A mailbox that takes sub-addresses, e.g. `replies@example.com`. When set, every email to a customer "
        "carries `Reply-To: replies+<key>@example.com` (a short signed key for that postmortem) and the marker "
        "line `##- Please type your reply above this line -##`, so their reply comes back to Farewell. Unset: "
        "replies go to the reply-to address or the owner. A plain address only (no `+`, no name).",
    ),
    Setting(
        "BOUNCE_ADDRESS",
        "",
        "E.g. `bounces@example.com`: the envelope sender (Return-Path) of each email becomes "
        "`bounces+<key>@example.com` (VERP), so a bounce names the message it is about even when the remote "
        "server returned none of its headers.",
    ),
    Setting(
        "SOFT_BOUNCE_LIMIT",
        3,
        "Temporary delivery failures (4.x.x) for one address within `SOFT_BOUNCE_DAYS` after which it is treated "
        "as a hard bounce: suppressed, and the owner told. `0` never turns soft bounces into hard ones.",
        kind="int",
    ),
    Setting(
        "SOFT_BOUNCE_DAYS",
        7,
        "The window, in days, in which `SOFT_BOUNCE_LIMIT` temporary failures count as a hard bounce.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "INBOUND_IMAP_URL",
        "",
        "`imaps://user:password@imap.example.com/INBOX` (percent-encode an `@` in the user or password): the "
        "mailbox the `inbound.poll-imap` job reads every minute. `imap://` (no TLS) is accepted on loopback only. "
        "Add `?delete=yes` to delete each message once stored instead of marking it `\\Seen`.",
    ),
    Setting(
        "MAILGUN_SIGNING_KEY",
        "",
        "Mailgun's HTTP webhook signing key, for `POST /webhooks/inbound/mailgun`. Several, comma-separated, while "
        "you roll one. Unset: that route answers 503.",
    ),
    Setting(
        "INBOUND_MAX_BYTES",
        1024 * 1024,
        "The most of one received message that is stored (1 MB); a longer one is stored cut, and says so.",
        kind="int",
        minimum=64 * 1024,
    ),
    Setting(
        "REPLY_KEY_GRACE_DAYS",
        30,
        "A reply address counts for the survey link's lifetime (`SURVEY_LINK_DAYS`) plus this many days after the "
        "email that carried it (the last day is signed into the address); so does a reply naming that email's "
        "`Message-ID`. A later reply is kept as *unmatched*, naming the probable postmortem, for an admin.",
        kind="int",
    ),
    Setting(
        "INBOUND_FORWARDS_PER_DAY",
        10,
        "At most this many replies a day are forwarded to one postmortem's owner by email; past it a reply is still "
        "attached (the postmortem shows it) but not forwarded, so nobody holding a reply address can fill an "
        "owner's inbox.",
        kind="int",
        minimum=1,
    ),
    Setting(
        "INBOUND_AUTHSERV_ID",
        "",
        "The authserv-id your receiving mail server writes first in its `Authentication-Results` header (e.g. "
        "`mx.example.com`). Only that server's verdict is read (a sender can write any other); a reply whose "
        "verdict fails DMARC, or whose SPF and DKIM passes are not for the `From:` domain, is held for the owner's "
        "review instead of attached. Unset: Mailgun's SPF/DKIM fields are still read; mail that came another way "
        "is attached on its `From:` alone, marked *not checked*.",
        kind="lower",
    ),
    Setting(
        "RETENTION_MONTHS",
        0,
        "Postmortems cancelled more than this many months ago are anonymised by the hourly job "
        "`privacy.retention`, exactly as an erasure does. `0` or unset keeps everything. The survey page tells "
        "customers which, in their language.",
        kind="int",
        shown_default="`0` (keep)",
    ),
    Setting(
        "LOG_FORMAT",
        "text",
        "`json` writes one JSON object per log line (`time`, `level`, `logger`, `message`, `request_id`, and for "
        "requests `method`, `path`, `status`, `duration_ms`; for the worker's job runs and mail batches `kind`, "
        "`name`, `outcome`, `report`, the batch's counts and `duration_ms`), for a log collector.",
        kind="lower",
    ),
)

#: Each rate limit's default, in Flask-Limiter's notation ("120 per minute", "10/hour;100/day"), checked at start.
RATE_LIMITS = {s.name: s.default for s in SETTINGS if s.name.endswith("_RATE_LIMIT")}


def from_environment(instance_path: str) -> dict[str, Any]:
    """Every setting Farewell reads, from the environment, as SETTINGS declares it (docs/settings.md)."""
    config = {setting.name: setting.read(os.environ) for setting in SETTINGS}
    config["FAREWELL_ENV"] = config["FAREWELL_ENV"] or "production"
    if not os.environ.get("BASE_URL", "").strip():  # unset: the port in use (`make run PORT=5701`), 5000 by default
        config["BASE_URL"] = f"http://127.0.0.1:{config['PORT']}"
    del config["DATABASE_URL"]
    config["SQLALCHEMY_DATABASE_URI"] = _database_url(instance_path)
    # With no SMTP server configured, development keeps mail in a local mailbox page instead.
    config["MAIL_BACKEND"] = "smtp" if config["MAIL_SERVER"] else "local"
    # Fixed, not settings: Flask-Limiter's prefix in a shared Redis, and what it does when Redis stops answering
    # (count in memory meanwhile, and log it, rather than answer every request with a 500).
    config["RATELIMIT_KEY_PREFIX"] = "farewell"
    config["RATELIMIT_SWALLOW_ERRORS"] = True
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    return config


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
    for name in ("OIDC_ALLOWED_DOMAINS", "OIDC_ADMIN_VALUES"):
        raw = config.get(name) or ""
        config[name] = (
            raw if isinstance(raw, (list, tuple)) else [v.strip().lower() for v in raw.split(",") if v.strip()]
        )
    if config.get("OIDC_ISSUER") and not config.get("OIDC_CLIENT_ID"):
        raise ConfigError("OIDC_ISSUER is set without OIDC_CLIENT_ID; set the client id registered at the provider.")
    if config.get("OIDC_ONLY") and not config.get("OIDC_ISSUER"):
        raise ConfigError("OIDC_ONLY is true without OIDC_ISSUER: nobody could sign in.")
    if not config.get("REQUIRE_2FA"):
        config["REQUIRE_2FA"] = "admins" if env == "production" else "off"
    if config["REQUIRE_2FA"] not in ("admins", "everyone", "off"):
        raise ConfigError(f"REQUIRE_2FA must be admins, everyone or off; got {config['REQUIRE_2FA']!r}.")
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
    # A statement's bound parameters are customers' addresses and words: an error (in a log, in a failed
    # message's note) never repeats them.
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}, "hide_parameters": True}
    # No pool_pre_ping: feedback.db checks each connection at checkout without a round trip. Recycled hourly, so
    # that one lost without a word from the server is not kept for long.
    return {"pool_recycle": 3600, "hide_parameters": True}
