"""Who may see and review a postmortem: owners their own, admins all. (Summaries are open to every staff member.)

What a customer wrote (survey answers, replies, referrals) follows one rule, `may_read_customer_words`, wherever it
is shown: the customer's owner and admins read it at once; every other staff member once the summary is sent, as the
sent summary is how the team learns. Lists ask the same question of the database with `customer_words_readable`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, true
from sqlalchemy.sql import ColumnElement

from feedback.postmortem.models import Cancellation


def may_review(user: Any, cancellation: Cancellation) -> bool:
    return bool(user.is_authenticated and user.active and (user.is_admin or user.id == cancellation.owner_id))


def may_see(user: Any, cancellation: Cancellation) -> bool:
    return may_review(user, cancellation)


def may_read_customer_words(user: Any, cancellation: Cancellation) -> bool:
    """The customer's words: for their owner and admins, and for all staff once the summary has been sent."""
    if may_see(user, cancellation):
        return True
    return bool(user.is_authenticated and user.active and cancellation.summary is not None)


def customer_words_readable(user: Any) -> ColumnElement[bool]:
    """`may_read_customer_words` as a condition on cancellations, so that a list leaves out what the reader may not
    read before it counts or pages (tests/test_roles.py holds the two to the same answers)."""
    if not (user.is_authenticated and user.active):
        return false()
    if user.is_admin:
        return true()
    return or_(Cancellation.owner_id == user.id, Cancellation.summary.has())
