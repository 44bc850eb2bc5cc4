"""Signed links, with itsdangerous only: a salt per purpose, a max age on every load."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes
from itsdangerous.signer import HMACAlgorithm


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


class _ShortHMAC(HMACAlgorithm):
    """HMAC-SHA256 cut to 80 bits: unguessable, and short enough for the local part of an email address."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:10]


class _AddressSigner(Signer):
    """Signs in lower-case base32, which survives mail servers that fold the case of an address's local part."""

    def get_signature(self, value: str | bytes) -> bytes:
        signature = self.algorithm.get_signature(self.derive_key(), want_bytes(value))
        return base64.b32encode(signature).lower()

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        return hmac.compare_digest(want_bytes(sig).lower(), self.get_signature(value))


def _address_signer(salt: str) -> _AddressSigner:
    return _AddressSigner(current_app.config["SECRET_KEY"], salt=salt, sep=".", algorithm=_ShortHMAC())


#: The day an expiring address key counts its days from.
_KEY_EPOCH = date(1970, 1, 1)


def sign_address_key(number: int, salt: str, expires_on: date | None = None) -> str:
    """`<number>.<signature>` (e.g. `42.mfrggzdfmztwq2lk`), for `replies+<key>@…`: tamper-evident, one salt per use;
    with `expires_on`, `<number>.<day>.<signature>`, the last day it works signed into it (days since 1970)."""
    value = str(number) if expires_on is None else f"{number}.{(expires_on - _KEY_EPOCH).days}"
    return _address_signer(salt).sign(value).decode()


def check_expiring_address_key(key: str, salt: str) -> tuple[int, date | None] | None:
    """(number, last day it works, or None for a key made before keys carried one) for a genuine key; None for a
    forged, mangled or other purpose's key. Whether the day has passed is the caller's to judge."""
    try:
        value = _address_signer(salt).unsign(key.strip().lower()).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    number, _, day = value.partition(".")
    if not (number.isdigit() and len(number) <= 18) or (day and not (day.isdigit() and len(day) <= 6)):
        return None
    return int(number), (_KEY_EPOCH + timedelta(days=int(day)) if day else None)


def check_address_key(key: str, salt: str) -> int | None:
    """The number a genuine key was made for, or None for a forged, mangled or other purpose's key."""
    checked = check_expiring_address_key(key, salt)
    return checked[0] if checked else None


def peek(token: str, salt: str) -> Any:
    """The payload of a genuine link, whatever its age; None for a forged one.

    Only for finding the record a link names when its max age lives with that record's settings: the caller
    then loads it and judges the age with `check`, as with every other link.
    """
    try:
        return _serializer(salt).loads(token)
    except BadSignature:  # SignatureExpired cannot happen without a max age
        return None
