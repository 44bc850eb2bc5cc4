"""API tokens: shown once, kept as a SHA-256 hash, revocable, each allowed only its scopes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from feedback import audit
from feedback.api.models import ApiToken, ApiTokenScope
from feedback.api.scopes import SCOPES, unknown_scopes
from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db

PREFIX = "fw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvalidToken(ValueError):
    """The name or the scopes were refused; the message says which and why."""


def create_token(
    name: str, scopes: list[str] | tuple[str, ...] = tuple(SCOPES), created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which exists nowhere else once the caller has shown it.

    The CLI and the admin page always pass the scopes the person chose; the default (every scope) is what the
    migration gave the tokens that existed before scopes did.
    """
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise InvalidToken("Give the token a name of 1 to 120 characters, e.g. the system that will use it.")
    unknown = unknown_scopes(scopes)
    if unknown:
        raise InvalidToken(f"Unknown scope {unknown[0]!r}; the scopes are {', '.join(SCOPES)}.")
    if not scopes:
        raise InvalidToken("Choose at least one scope: a token without one can do nothing.")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(token), prefix=token[:10], created_by=created_by)
    row.granted = [ApiTokenScope(scope=scope) for scope in dict.fromkeys(scopes)]
    db.session.add(row)
    db.session.flush()
    audit.record(
        "token.create",
        row,
        f"Created API token {name!r} ({row.prefix}…) with scopes {', '.join(row.scopes)}.",
        actor=created_by,
    )
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
