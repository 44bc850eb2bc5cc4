"""Security headers on every response, and rate limits on the ways in that can be hammered.

The Content-Security-Policy allows scripts from this site only (every script is a file in feedback/static), no
framing by anyone (`frame-ancestors 'none'`), forms posting only here. Styles come from style.css, plus the one
`<style>` element that carries an admin's accent colour, allowed by a nonce made for each response. The two pages
that preview an email are the exception: an email's HTML is styled inline by design (mail clients need it) and the
preview's sandboxed frame inherits the page's policy, so there inline styles are allowed, still no script.

What a signed-in colleague sees holds customers' names and words: it is never stored by the browser or a proxy
(`Cache-Control: no-store`), so the back button of a shared computer shows none of it after logout. A NUL in the
address (path or query) is refused for the whole app at once, before a view hands it to the database.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, request, session
from flask_limiter import Limiter, RequestLimit
from limits import parse
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

#: The pages that show an email's own HTML, styled inline.
EMAIL_PREVIEWS = {"email_log.show", "mailbox.show"}
#: Paths whose links carry a signed token (survey, unsubscribe, staff invitation): never sent on as a Referer.
TOKEN_PATHS = ("/s/", "/u/", "/welcome/")
HSTS = "max-age=31536000"

log = logging.getLogger("feedback.ratelimits")


def init_app(app: Flask) -> None:
    if app.config["TRUSTED_PROXIES"]:  # the client's address and scheme as the proxies in front of us saw them
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.add_template_global(csp_nonce)
    app.before_request(refuse_nul_in_address)
    app.after_request(security_headers)
    init_rate_limits(app)


def csp_nonce() -> str:
    """The nonce that lets this response's own `<style>` element through the policy."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy() -> str:
    if request.endpoint in EMAIL_PREVIEWS:
        styles = "'self' 'unsafe-inline'"
    else:
        styles = "'self'" + (f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else "")
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {styles}",
            "img-src 'self' https: data:",  # an admin's logo may be an https:// address
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def refuse_nul_in_address() -> None:
    """A NUL is in no id, filter or page number, and PostgreSQL refuses it in any text: a 400, page or problem."""
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        abort(400, "The address held a NUL character, which no page of Farewell takes.")


def holds_staff_data() -> bool:
    """A page for a signed-in colleague, or the API (a token's answers): anything but the files under /static/.

    Read from the session cookie, not `current_user`: loading the user would cost the survey page (which loads
    none) a query for every staff member who opens a customer's link.
    """
    if request.endpoint == "static":
        return False
    return request.path.startswith("/api/") or "_user_id" in session  # every API blueprint, the export's too


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors, for browsers that predate it
    response.headers["X-Content-Type-Options"] = "nosniff"
    tokens = request.path.startswith(TOKEN_PATHS)
    response.headers["Referrer-Policy"] = "no-referrer" if tokens else "strict-origin-when-cross-origin"
    if current_app.config["BASE_URL"].startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
    if holds_staff_data():
        response.headers["Cache-Control"] = "no-store"
    return response


# --- Rate limits ------------------------------------------------------------------------------------


def client_address() -> str:
    return "address:" + (request.remote_addr or "unknown")


def api_token() -> str:
    """The bearer token as sent, hashed: counted per token whether or not it is a real one, never stored as is."""
    sent = request.headers.get("Authorization", "")
    return "token:" + hashlib.sha256(sent.encode()).hexdigest()[:32]


def setting(name: str) -> Any:
    return lambda: current_app.config[name]


def api_blueprints(app: Flask) -> list[Blueprint]:
    return [blueprint for blueprint in app.blueprints.values() if (blueprint.url_prefix or "").startswith("/api/")]


def init_rate_limits(app: Flask) -> None:
    """One limiter per app, its counts in RATELIMIT_STORAGE_URI (Redis shares them between app servers)."""
    limiter = Limiter(client_address, app=app, headers_enabled=False)
    app.extensions["farewell.limiter"] = limiter
    # Every blueprint under /api/ (the API's own, and features' such as the personal data export) counts against the
    # same two shared limits, so no route of the API is outside them wherever it is written.
    for api in api_blueprints(app):
        limiter.shared_limit(setting("API_RATE_LIMIT"), "api-token", key_func=api_token)(api)
        limiter.shared_limit(setting("API_RATE_LIMIT"), "api-address")(api)
    limiter.shared_limit(setting("WEBHOOK_RATE_LIMIT"), "webhooks")(app.blueprints["webhooks"])
    for endpoint, name in (
        ("auth.login", "LOGIN_RATE_LIMIT"),
        ("second_factor.code", "LOGIN_RATE_LIMIT"),
        ("second_factor.enrol", "LOGIN_RATE_LIMIT"),
        ("surveys.new_link", "FRESH_LINK_RATE_LIMIT"),
        ("unsubscribe.unsubscribe", "UNSUBSCRIBE_RATE_LIMIT"),
        ("password_reset.ask", "PASSWORD_RESET_RATE_LIMIT"),
    ):
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(setting(name), methods=["POST"])(view)
    app.extensions["farewell.limit_storage"] = LimitStorage(
        app.config["RATELIMIT_STORAGE_URI"], enabled=app.config["RATELIMIT_ENABLED"]
    )
    app.after_request(rate_limit_headers)
    app.after_request(watch_limit_storage)
    app.extensions["farewell.within_limit"] = within_limit


def within_limit(setting_name: str, *identifiers: str) -> bool:
    """Counts one more against the limit `setting_name` for `identifiers`; False once the limit is spent.

    For a limit a view applies quietly (the reset page says the same either way), where Flask-Limiter's own
    would answer 429. Counted where the other limits are (Redis shares them between app servers); when that
    storage does not answer, the view goes ahead as if the limit allowed it, as every other limit does then.
    """
    limiter: Limiter = current_app.extensions["farewell.limiter"]
    if not limiter.enabled:
        return True
    limit = parse(current_app.config[setting_name])
    try:
        return limiter.limiter.hit(limit, current_app.config["RATELIMIT_KEY_PREFIX"], setting_name, *identifiers)
    except Exception:  # noqa: BLE001 - whatever the storage raises, a limit never turns into a 500
        log.warning("rate limit storage unreachable: %s not counted", setting_name)
        return True


def rate_limit_headers(response: Response) -> Response:
    """`RateLimit` and `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers) for the limit nearest to running
    out; `Retry-After` on a 429, which is problem+json under /api/ and /webhooks/ and a kind page elsewhere."""
    limits: list[RequestLimit] = current_app.extensions["farewell.limiter"].current_limits
    if not limits:
        return response
    nearest = min(limits, key=lambda limit: (not limit.breached, limit.remaining))
    reset = max(0, math.ceil(nearest.window[0] - time.time()))  # seconds until the window ends
    amount, window = nearest.limit.amount, nearest.limit.get_expiry()
    response.headers["RateLimit-Policy"] = f"{amount};w={window}"
    response.headers["RateLimit"] = f"limit={amount}, remaining={nearest.remaining}, reset={reset}"
    if response.status_code == 429 and "Retry-After" not in response.headers:  # the login throttle sets its own
        response.headers["Retry-After"] = str(max(1, reset))
    return response


# --- Where the limits count ------------------------------------------------------------------------


@dataclass
class LimitStorage:
    """Whether this process counts in the shared storage (Redis) or, while it does not answer, in its own memory.

    Flask-Limiter falls back to memory by itself (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and tries the storage again
    with a back-off; it says so only to a logger nobody reads. Each process notices it on its own, so each logs it
    once, and /healthz shows what the process answering it does.
    """

    uri: str
    enabled: bool = True
    falling_back_since: datetime | None = None

    @property
    def kind(self) -> str:
        """The storage's scheme only: the address may hold a password."""
        return self.uri.partition("://")[0] or "memory"

    def health(self) -> dict[str, object]:
        if not self.enabled:
            return {"storage": self.kind, "counting": "off"}
        if self.falling_back_since is None:
            counting = "in this process" if self.kind == "memory" else "shared"
            return {"storage": self.kind, "counting": counting}
        return {
            "storage": self.kind,
            "counting": "in this process, until the storage answers again",
            "unreachable_since": self.falling_back_since.isoformat(),
        }


def _falling_back(limiter: Limiter) -> bool:
    # Flask-Limiter's own flag for "storage unreachable, counting in memory" (set and cleared as it checks).
    return bool(getattr(limiter, "_storage_dead", False))


def watch_limit_storage(response: Response) -> Response:
    """Logs the moment this process starts counting in memory, and the moment the storage answers again."""
    storage: LimitStorage = current_app.extensions["farewell.limit_storage"]
    falling_back = _falling_back(current_app.extensions["farewell.limiter"])
    if falling_back and storage.falling_back_since is None:
        storage.falling_back_since = datetime.now(UTC)
        log.warning(
            "Rate limit storage (%s) unreachable: this process counts the limits in its own memory until it answers"
            " again, so each app server process allows the full limit meanwhile.",
            storage.kind,
        )
    elif not falling_back and storage.falling_back_since is not None:
        down = datetime.now(UTC) - storage.falling_back_since
        storage.falling_back_since = None
        log.info(
            "Rate limit storage (%s) answers again after %d s: the limits are shared again.",
            storage.kind,
            down.total_seconds(),
        )
    return response


def limit_storage_health(app: Flask) -> dict[str, object]:
    return app.extensions["farewell.limit_storage"].health()
