"""The suppression list: an address that opted out never hears from Farewell again, for any cancellation."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage, Suppression
from feedback.signing import TokenCheck, check, sign
from feedback.urls import external_url

UNSUBSCRIBE_SALT = "unsubscribe-link"
#: An unsubscribe link must keep working long after the email: five years.
UNSUBSCRIBE_MAX_AGE = 5 * 365 * 24 * 3600

SOURCE_LABELS = {"link": "the unsubscribe link", "one-click": "one-click unsubscribe in their mail app"}


def unsubscribe_url(address: str, cancellation_id: int | None) -> str:
    """The link names the cancellation whose email carried it, so that its timeline can say who opted out."""
    data = {"a": address.strip().lower(), "c": cancellation_id}
    return external_url("unsubscribe.unsubscribe", token=sign(data, UNSUBSCRIBE_SALT))


def check_unsubscribe_token(token: str) -> TokenCheck:
    """Anything but a dict naming an address counts as invalid."""
    result = check(token, UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    if result.invalid or not (isinstance(result.data, dict) and isinstance(result.data.get("a"), str)):
        return TokenCheck(invalid=True)
    return result


def address_hash(address: str) -> str:
    """What the list keeps of an address whose owner was erased: enough to recognise it, not to read it."""
    return "sha256:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()


def suppression_for(address: str) -> Suppression | None:
    """The opt-out of this address, whether kept plainly or (after an erasure) as its hash."""
    address = address.strip().lower()
    return db.session.scalar(select(Suppression).where(Suppression.address.in_([address, address_hash(address)])))


_SUPPRESSED = select(
    Suppression.__table__.c.address, Suppression.__table__.c.source, Suppression.__table__.c.created_at
).where(Suppression.__table__.c.address.in_([bindparam("address"), bindparam("hashed")]))


def suppressed_now(address: str, connection: Connection) -> Row[Any] | None:
    """The check just before each send: a plain indexed lookup on the worker's connection, no ORM objects.

    The row found has what `skip_reason` reads (address, source, created_at).
    """
    address = address.strip().lower()
    return connection.execute(_SUPPRESSED, {"address": address, "hashed": address_hash(address)}).first()


def suppress(
    address: str, source: str, reason: str = "", cancellation_id: int | None = None, erased: bool = False
) -> tuple[Suppression, bool]:
    """Adds the address (once; a second opt-out changes nothing) and skips its customer mail still queued.

    `erased`: the address is an erased person's (her old unsubscribe link still works), so the list keeps only
    its hash, as the erasure does. Returns the suppression and whether this call added it. Flushes, never commits.
    """
    address = address.strip().lower()
    existing = suppression_for(address)
    if existing is not None:
        return existing, False
    now = utcnow()
    suppression = Suppression(
        address=address_hash(address) if erased else address,
        source=source,
        reason=reason,
        cancellation_id=cancellation_id,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(suppression)
    except IntegrityError:
        # The mail app's one-click POST and the person's click raced; the first one is the record.
        found = suppression_for(address)
        assert found is not None
        return found, False
    db.session.execute(
        update(OutboxMessage)
        .where(
            func.lower(OutboxMessage.recipient) == address,
            OutboxMessage.status == "queued",
            OutboxMessage.unsubscribe_url.is_not(None),
        )
        .values(status="skipped", last_error=skip_reason(suppression), claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return suppression, True


def opted_out_with(source: str) -> str:
    """How an address opted out, in words: "the unsubscribe link"."""
    return SOURCE_LABELS.get(source, source)


def opted_out(suppression: Suppression | Row[Any]) -> str:
    """Who opted out, when and how, as the email log and the cancellation page say it."""
    if suppression.source == "bounce":
        # Not a choice the customer made: their mail server said the address does not take mail.
        return (
            f"{suppression.address} bounced on {suppression.created_at.strftime('%-d %b %Y')}: it does not take mail."
        )
    how = opted_out_with(suppression.source)
    if suppression.address.startswith("sha256:"):
        return f"This address (since erased) opted out on {suppression.created_at.strftime('%-d %b %Y')} with {how}."
    return f"{suppression.address} opted out on {suppression.created_at.strftime('%-d %b %Y')} with {how}."


def skip_reason(suppression: Suppression | Row[Any]) -> str:
    return f"Not sent: {opted_out(suppression)}"
