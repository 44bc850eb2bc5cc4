"""A second factor after the password: TOTP codes (RFC 6238, via pyotp) and ten single-use recovery codes.

A code is accepted for the current 30-second step or the one either side (clocks drift), and only for a step later
than the last one accepted: the conditional UPDATE makes a code work once even when two requests race with it.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, or_, update

from feedback import audit
from feedback.auth.models import RecoveryCode, User
from feedback.db import utcnow
from feedback.extensions import db

RECOVERY_CODES = 10
ISSUER = "Farewell"


def required_for(user: User) -> bool:
    """Whether REQUIRE_2FA makes this person use a second factor."""
    policy = current_app.config["REQUIRE_2FA"]
    return policy == "everyone" or (policy == "admins" and user.is_admin)


def needs_second_step(user: User) -> bool:
    return user.totp_secret is not None or required_for(user)


def new_secret() -> str:
    return pyotp.random_base32()


def qr_svg(user: User, secret: str) -> Markup:
    """The otpauth:// URI as an inline SVG QR code: drawn here, nothing fetched from elsewhere."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#111827", light="#ffffff", title="QR code to scan")
    return Markup(svg)  # noqa: S704 - segno's own SVG of our own URI: no outside text in it


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = int((now if now is not None else time.time()) // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _hash(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).replace("-", "").encode()).hexdigest()


def check_code(user: User, code: str, now: float | None = None) -> str | None:
    """ "totp" or "a recovery code" when `code` is right and unused (marking it used), else None. Flushes."""
    if user.totp_secret is None:
        return None
    step = _matching_step(user.totp_secret, code, now)
    if step is not None:
        taken = db.session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
        )
        db.session.expire(user, ["totp_last_step"])
        return "an authenticator code" if taken.rowcount == 1 else None  # type: ignore[attr-defined]
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code), RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount == 1:  # type: ignore[attr-defined]
        audit.record("staff.recovery_code", user, "Used a recovery code.", actor=user)
        return "a recovery code"
    return None


def enrol(user: User, secret: str, code: str, now: float | None = None) -> list[str] | None:
    """Confirms enrolment with a first code from the app; returns the recovery codes (shown once), or None."""
    step = _matching_step(secret, code, now)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_last_step = step
    codes = [f"{secrets.token_hex(5)}-{secrets.token_hex(5)}" for _ in range(RECOVERY_CODES)]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    db.session.flush()
    audit.record("staff.two_factor_enrol", user, "Set up a second factor (authenticator app).", actor=user)
    return codes


def reset(user: User, acting: User) -> None:
    """An admin clears a colleague's second factor (a lost phone): their sessions end, they enrol again."""
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_sessions()
    db.session.flush()
    audit.record("staff.two_factor_reset", user, f"Reset the second factor of {user.email}.", actor=acting)
