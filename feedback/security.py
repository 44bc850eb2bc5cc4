"""Security headers on every response, and rate limits on the ways in that can be hammered.

The Content-Security-Policy allows scripts from this site only (every script is a file in feedback/static), no
framing by anyone (`frame-ancestors 'none'`), forms posting only here. Styles come from style.css, plus the one
`<style>` element that carries an admin's accent colour, allowed by a nonce made for each response. The two pages
that preview an email are the exception: an email's HTML is styled inline by design (mail clients need it) and the
preview's sandboxed frame inherits the page's policy, so there inline styles are allowed, still no script.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import Limiter, RequestLimit
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

#: The pages that show an email's own HTML, styled inline.
EMAIL_PREVIEWS = {"email_log.show", "mailbox.show"}
#: Paths whose links carry a signed token (survey, unsubscribe, staff invitation): never sent on as a Referer.
TOKEN_PATHS = ("/s/", "/u/", "/welcome/")
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    if app.config["TRUSTED_PROXIES"]:  # the client's address and scheme as the proxies in front of us saw them
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.add_template_global(csp_nonce)
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


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Frame-Options"] = "DENY"  # frame-ancestors, for browsers that predate it
    response.headers["X-Content-Type-Options"] = "nosniff"
    tokens = request.path.startswith(TOKEN_PATHS)
    response.headers["Referrer-Policy"] = "no-referrer" if tokens else "strict-origin-when-cross-origin"
    if current_app.config["BASE_URL"].startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS
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


def init_rate_limits(app: Flask) -> None:
    """One limiter per app, its counts in RATELIMIT_STORAGE_URI (Redis shares them between app servers)."""
    limiter = Limiter(client_address, app=app, headers_enabled=False)
    app.extensions["farewell.limiter"] = limiter
    api, webhooks = app.blueprints["api"], app.blueprints["webhooks"]
    limiter.shared_limit(setting("API_RATE_LIMIT"), "api-token", key_func=api_token)(api)
    limiter.shared_limit(setting("API_RATE_LIMIT"), "api-address")(api)
    limiter.shared_limit(setting("WEBHOOK_RATE_LIMIT"), "webhooks")(webhooks)
    for endpoint, name in (
        ("auth.login", "LOGIN_RATE_LIMIT"),
        ("surveys.new_link", "FRESH_LINK_RATE_LIMIT"),
        ("unsubscribe.unsubscribe", "UNSUBSCRIBE_RATE_LIMIT"),
    ):
        view = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(setting(name), methods=["POST"])(view)
    app.after_request(rate_limit_headers)


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
