"""The weekly digest's writes: a person's choice, and queueing one week's digest once."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from feedback.auth.models import User
from feedback.extensions import db
from feedback.insights.models import DigestPreference, DigestSent
from feedback.mail.outbox import enqueue


def wants_digest(user: User) -> bool:
    """Their own choice if they made one; otherwise admins get the digest and owners do not."""
    preference = db.session.get(DigestPreference, user.id)
    return user.is_admin if preference is None else preference.wants_digest


def set_digest(user: User, wanted: bool) -> None:
    preference = db.session.get(DigestPreference, user.id)
    if preference is None:
        db.session.add(DigestPreference(user_id=user.id, wants_digest=wanted))
    else:
        preference.wants_digest = wanted
    db.session.flush()


def queue_digest(user: User, week_start: date, subject: str, **context: object) -> bool:
    """Queues this week's digest for `user` unless it was queued before; False when it had been.

    The unique (user, week) key decides: two workers, or a job run twice, queue one digest. A refusal rolls the
    transaction back (the job commits person by person, so only this person's attempt is undone).
    """
    sent = DigestSent(user_id=user.id, week_start=week_start)
    db.session.add(sent)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    message = enqueue(
        "insights_digest", to=user.email, to_name=user.name, subject=subject, template="insights_digest",
        recipient_name=user.name, **context,
    )  # fmt: skip
    sent.outbox_message_id = message.id
    db.session.flush()
    return True
