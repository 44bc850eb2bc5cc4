"""API tokens: shown once, kept as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from feedback import audit
from feedback.api.models import ApiToken
from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db

PREFIX = "fw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which exists nowhere else once the caller has shown it."""
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise ValueError("Give the token a name of 1 to 120 characters, e.g. the system that will use it.")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(token), prefix=token[:10], created_by=created_by)
    db.session.add(row)
    db.session.flush()
    audit.record("token.create", row, f"Created API token {name!r} ({row.prefix}…).", actor=created_by)
    return row, token


def authenticate(token: str) -> ApiToken | None:
    """The live token with this value, its last use noted; None for unknown or revoked tokens."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = utcnow()
    db.session.flush()
    return row


def revoke_token(token_id: int) -> ApiToken | None:
    row = db.session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
        audit.record("token.revoke", row, f"Revoked API token {row.name!r} ({row.prefix}…).")
    return row


def list_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))
