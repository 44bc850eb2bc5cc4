"""`Idempotency-Key`: the first answer to a key is kept and replayed; the same key with another body is a 409."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from feedback.api.models import ApiToken, IdempotentRequest
from feedback.errors import Problem
from feedback.extensions import db

Result = tuple[int, dict[str, Any]]

#: What the OpenAPI document allows: printable ASCII without spaces, e.g. a UUID; it is stored and compared as is.
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")
#: How long a key replays its first answer, as with Stripe's API; a retry comes within minutes, not days.
KEYS_KEPT_FOR = timedelta(hours=24)


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """Whitespace and key order don't make a different request; anything else does."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stored(token: ApiToken, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.token_id == token.id, IdempotentRequest.key == key)
    )


def _replay(stored: IdempotentRequest, fingerprint: str) -> tuple[int, dict[str, Any], bool]:
    if stored.request_hash != fingerprint:
        raise Problem(409, "This Idempotency-Key was already used with a different request; use a new key.")
    return stored.status_code, stored.response_body, True


def run_once(token: ApiToken, key: str | None, fingerprint: str, write: Callable[[], Result]) -> tuple[int, Any, bool]:
    """Runs `write` (which must not commit) and commits its result with the key; returns (status, body, replayed).

    Two identical requests at the same moment both run `write`, but the unique (token, key) pair lets only one
    commit: the other rolls back and replays the winner's answer.
    """
    if key is None:
        status, body = write()
        db.session.commit()
        return status, body, False
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(
            400,
            "Idempotency-Key must be 1 to 255 printable ASCII characters, without spaces.",
            {"Idempotency-Key": "Must match ^[!-~]{1,255}$, e.g. a UUID."},
        )
    stored = _stored(token, key)
    if stored is not None:
        return _replay(stored, fingerprint)
    status, body = write()
    db.session.add(
        IdempotentRequest(token_id=token.id, key=key, request_hash=fingerprint, status_code=status, response_body=body)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        stored = _stored(token, key)
        if stored is None:
            raise
        return _replay(stored, fingerprint)
    return status, body, False


def forget_old_keys(now: datetime) -> int:
    """Keys past KEYS_KEPT_FOR are deleted, or the table would grow with every request forever."""
    result = db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < now - KEYS_KEPT_FOR))
    return result.rowcount or 0
