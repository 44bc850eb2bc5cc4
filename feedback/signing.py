"""Signed links, with itsdangerous only: a salt per purpose, a max age on every load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


@dataclass(frozen=True)
class TokenCheck:
    """What a link turned out to be; an expired link still says whose it was, so the page can help."""

    data: Any = None
    expired: bool = False
    invalid: bool = False


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def sign(data: Any, salt: str) -> str:
    return _serializer(salt).dumps(data)


def check(token: str, salt: str, max_age: int) -> TokenCheck:
    serializer = _serializer(salt)
    try:
        return TokenCheck(data=serializer.loads(token, max_age=max_age))
    except SignatureExpired as expired:
        # The signature is genuine, only old: its payload can be trusted to name the invitation.
        try:
            data = serializer.load_payload(expired.payload) if expired.payload is not None else None
        except BadSignature:
            return TokenCheck(invalid=True)
        return TokenCheck(data=data, expired=True)
    except BadSignature:
        return TokenCheck(invalid=True)
