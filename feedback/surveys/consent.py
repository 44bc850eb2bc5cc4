"""Consent to hear about changes (win-back): given on the exit survey, apart from the answers, and withdrawable.

It is consent to direct marketing, so it is explicit (its own unticked box), specific (one wording, versioned),
recorded (who, when, which wording) and always yields to the suppression list: an unsubscribe wins.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.suppression import suppression_for
from feedback.signing import TokenCheck, check, sign
from feedback.urls import external_url

#: The wording a customer agreed to, by version. A new wording is a new version: consent given to the old one stands
#: for what it said, and the record says which one it was.
WORDINGS = {1: _l("You may let me know if you change what made me leave")}
CURRENT_WORDING = 1

WITHDRAW_SALT = "winback-consent-withdraw"
#: As long as an unsubscribe link: withdrawing must keep working long after the email.
WITHDRAW_MAX_AGE = 5 * 365 * 24 * 3600


class WinbackConsent(db.Model):
    """A departing customer's yes to "let me know if you change what made me leave", for one cancellation."""

    __tablename__ = "winback_consents"
    personal_data = ("email",)
    not_personal_data = ("locale",)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique: one survey, one consent.
    cancellation_id: Mapped[int] = mapped_column(ForeignKey("cancellations.id", ondelete="CASCADE"), unique=True)
    #: Lower-cased, as the suppression list keeps it.
    email: Mapped[str] = mapped_column(String(254), index=True)
    #: The key of WORDINGS that the box said, and the language it was shown in.
    wording_version: Mapped[int]
    locale: Mapped[str] = mapped_column(String(16), default="")
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


def give_consent(cancellation_id: int, email: str, locale: str, at: datetime | None = None) -> WinbackConsent:
    """Records the tick, with the wording shown; called by the survey inside its own savepoint. Flushes."""
    consent = WinbackConsent(
        cancellation_id=cancellation_id,
        email=email.strip().lower(),
        wording_version=CURRENT_WORDING,
        locale=locale,
        given_at=at or utcnow(),
    )
    db.session.add(consent)
    db.session.flush()
    return consent


def consenting(email: str) -> WinbackConsent | None:
    """The address's standing consent: given, not withdrawn, and not overruled by an unsubscribe."""
    address = email.strip().lower()
    if not address or suppression_for(address) is not None:
        return None
    return db.session.scalar(
        select(WinbackConsent)
        .where(WinbackConsent.email == address, WinbackConsent.withdrawn_at.is_(None))
        .order_by(WinbackConsent.given_at.desc())
        .limit(1)
    )


def withdraw_consent(email: str, at: datetime | None = None) -> int:
    """Withdraws every consent the address gave (a conditional update: a second click changes nothing). Flushes."""
    result = db.session.execute(
        update(WinbackConsent)
        .where(func.lower(WinbackConsent.email) == email.strip().lower(), WinbackConsent.withdrawn_at.is_(None))
        .values(withdrawn_at=at or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount


def withdraw_url(email: str) -> str:
    return external_url("unsubscribe.withdraw_consent", token=sign({"a": email.strip().lower()}, WITHDRAW_SALT))


def check_withdraw_token(token: str) -> TokenCheck:
    result = check(token, WITHDRAW_SALT, max_age=WITHDRAW_MAX_AGE)
    if result.invalid or not (isinstance(result.data, dict) and isinstance(result.data.get("a"), str)):
        return TokenCheck(invalid=True)
    return result


def footer_links(address: str) -> dict[str, str | None]:
    """For every email to a customer (registered with mail at start-up): a withdraw link while they consent."""
    return {"withdraw_consent_url": withdraw_url(address) if consenting(address) else None}
