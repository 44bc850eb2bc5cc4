"""Correct the address and invite again: what an owner does after a customer's address bounced for good."""

from __future__ import annotations

import secrets

from sqlalchemy import update

from feedback import audit
from feedback.db import utcnow
from feedback.extensions import db
from feedback.inputs.fields import normalize_email
from feedback.mail.suppression import suppression_for
from feedback.postmortem.models import Cancellation
from feedback.postmortem.workflow import bounce
from feedback.surveys.models import Invitation
from feedback.surveys.operations import link_lifetime, queue_invitation


class CannotReinvite(ValueError):
    """Why the address cannot be corrected, in words the form shows beside the field."""


def may_correct(cancellation: Cancellation) -> bool:
    """Offered once: after the first bounced address. A second bounce is reported, not offered again."""
    invitation = cancellation.invitation
    if invitation is None or invitation.answered_at is not None or cancellation.summary is not None:
        return False
    return bounce(cancellation) is not None and not any(
        event.kind == "address_corrected" for event in cancellation.events
    )


def correct_and_reinvite(cancellation: Cancellation, address: str, by: str) -> Invitation:
    """Checks the new address, kills the old link, and queues a fresh invitation to the new address.

    The bounced address stays suppressed; the timeline and the audit trail say who did it. Flushes, never commits.
    """
    if not may_correct(cancellation):
        raise CannotReinvite("This postmortem has no bounced invitation to correct, or it was corrected already.")
    try:
        corrected = normalize_email(address)
    except ValueError as error:
        raise CannotReinvite(f"That is not an address Farewell can write to: {error}") from None
    old = cancellation.customer_email
    if corrected == old.strip().lower():
        raise CannotReinvite(f"{old} is the address that bounced; give a different one.")
    suppressed = suppression_for(corrected)
    if suppressed is not None:
        raise CannotReinvite(f"{corrected} is on the suppression list ({suppressed.reason or suppressed.source}).")
    invitation = cancellation.invitation
    assert invitation is not None
    now = utcnow()
    # A new nonce without a renewal row: the old link names nothing any more ("not found", not "expired").
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(nonce=secrets.token_urlsafe(9), expires_at=now + link_lifetime(), expired_at=None, sent_at=None)
        .execution_options(synchronize_session=False)
    )
    cancellation.customer_email = corrected
    db.session.flush()
    db.session.refresh(invitation)
    cancellation.record(
        "address_corrected", f"{by} corrected the address from {old} to {corrected} and invited again.", at=now
    )
    audit.record(
        "survey.reinvite", cancellation, f"Corrected the customer's address from {old} to {corrected}; invited again."
    )
    queue_invitation(invitation, renewed=True)
    return invitation
