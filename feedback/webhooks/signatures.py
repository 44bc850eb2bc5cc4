"""Signature checks on the raw body, before anything parses it: Stripe's, Paddle's, Standard Webhooks' and
Mailgun's schemes, and the HTTP Basic credentials Chargebee sends."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

#: Both schemes refuse deliveries signed more than this long ago (or ahead), so a captured request can't be replayed.
TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    """The message says why, for the 400's detail; it never says what the right signature was."""


def _secrets(setting: str) -> list[str]:
    """A setting may hold several secrets, comma- or space-separated, while one is rotated out."""
    return [part for part in setting.replace(",", " ").split() if part]


def _timestamp(value: str) -> int:
    """Seconds since the epoch in plain ASCII digits, for both kinds of webhook.

    int() alone would take "+1", " 1" and other scripts' digits, and str.isdigit() takes "²", which int() refuses.
    """
    if not (value.isascii() and value.isdigit()):
        raise BadSignature("The signature's timestamp is not a number.")
    return int(value)


def _check_time(timestamp: str, now: float | None) -> int:
    moment = _timestamp(timestamp)
    if abs((now if now is not None else time.time()) - moment) > TOLERANCE_SECONDS:
        raise BadSignature("The signature's timestamp is more than five minutes away from ours.")
    return moment


def stripe_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_stripe(body: bytes, header: str, setting: str, now: float | None = None) -> None:
    """`Stripe-Signature: t=...,v1=...,v1=...`: any v1 made with any of our secrets over `t.body` will do."""
    timestamps, signatures = [], []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not signatures:
        raise BadSignature("Stripe-Signature needs one t= and at least one v1= signature.")
    expected = [stripe_signature(secret, _timestamp(timestamps[0]), body) for secret in _secrets(setting)]
    if not any(hmac.compare_digest(mine.encode(), theirs.encode()) for mine in expected for theirs in signatures):
        raise BadSignature("No v1 signature matches the webhook secret.")
    _check_time(timestamps[0], now)


def paddle_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def verify_paddle(body: bytes, header: str, setting: str, now: float | None = None) -> None:
    """`Paddle-Signature: ts=...;h1=...;h1=...`: any h1 made with any of our secrets over `ts:body` will do."""
    timestamps, signatures = [], []
    for item in header.split(";"):
        name, _, value = item.strip().partition("=")
        if name == "ts":
            timestamps.append(value)
        elif name == "h1":
            signatures.append(value)
    if len(timestamps) != 1 or not signatures:
        raise BadSignature("Paddle-Signature needs one ts= and at least one h1= signature.")
    expected = [paddle_signature(secret, _timestamp(timestamps[0]), body) for secret in _secrets(setting)]
    if not any(hmac.compare_digest(mine.encode(), theirs.encode()) for mine in expected for theirs in signatures):
        raise BadSignature("No h1 signature matches PADDLE_WEBHOOK_SECRET.")
    _check_time(timestamps[0], now)


def basic_credentials_match(header: str, username: str, password: str) -> bool:
    """`Authorization: Basic base64(user:password)`, compared in constant time (both parts, whatever the first says)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        return False
    user_ok = hmac.compare_digest(user.encode(), username.encode())
    password_ok = hmac.compare_digest(given.encode(), password.encode())
    return user_ok and password_ok


def _standard_key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("WEBHOOK_SECRET is not a whsec_ secret.") from None


def standard_signature(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()).decode()


def verify_standard(
    body: bytes, webhook_id: str, timestamp: str, header: str, setting: str, now: float | None = None
) -> None:
    """Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64>`; any one that matches will do."""
    if not webhook_id or not timestamp or not header:
        raise BadSignature("Send webhook-id, webhook-timestamp and webhook-signature.")
    _check_time(timestamp, now)
    offered = [part for part in header.split() if part.startswith("v1,")]
    expected = [standard_signature(secret, webhook_id, timestamp, body) for secret in _secrets(setting)]
    if not any(hmac.compare_digest(mine.encode(), theirs.encode()) for mine in expected for theirs in offered):
        raise BadSignature("No v1 signature matches the webhook secret.")


#: Mailgun's own advice: refuse a signature whose timestamp is further than this from our clock.
MAILGUN_TOLERANCE_SECONDS = 120


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def verify_mailgun(timestamp: str, token: str, signature: str, setting: str, now: float | None = None) -> None:
    """Mailgun signs `timestamp + token` with HMAC-SHA256 under the signing key; the token is checked once elsewhere."""
    if not timestamp or not token or not signature:
        raise BadSignature("Send timestamp, token and signature as Mailgun signs them.")
    expected = [mailgun_signature(key, timestamp, token) for key in _secrets(setting)]
    if not any(hmac.compare_digest(mine.encode(), signature.encode()) for mine in expected):
        raise BadSignature("The signature does not match MAILGUN_SIGNING_KEY.")
    if abs((now if now is not None else time.time()) - _timestamp(timestamp)) > MAILGUN_TOLERANCE_SECONDS:
        raise BadSignature("The signature's timestamp is more than two minutes away from ours.")
