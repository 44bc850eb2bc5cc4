"""The whole relationship: a customer's earlier cancellations (they came back, and left again)."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from feedback.extensions import db
from feedback.postmortem.models import Cancellation


def earlier_cancellations(cancellation: Cancellation) -> list[Cancellation]:
    """The same customer's cancellations before this one, newest first: by billing id when known, else by address."""
    same: list = []
    if cancellation.customer_id is not None:
        same.append(Cancellation.customer_id == cancellation.customer_id)
    if cancellation.customer_email:
        same.append(func.lower(Cancellation.customer_email) == cancellation.customer_email.lower())
    if not same:
        return []
    return list(
        db.session.scalars(
            select(Cancellation)
            .where(
                or_(*same), Cancellation.id != cancellation.id, Cancellation.cancelled_at < cancellation.cancelled_at
            )
            .order_by(Cancellation.cancelled_at.desc())
        )
    )
