"""Who may see and review a postmortem: owners their own, admins all. (Summaries are open to every staff member.)"""

from __future__ import annotations

from typing import Any

from feedback.postmortem.models import Cancellation


def may_review(user: Any, cancellation: Cancellation) -> bool:
    return bool(user.is_authenticated and user.active and (user.is_admin or user.id == cancellation.owner_id))


def may_see(user: Any, cancellation: Cancellation) -> bool:
    return may_review(user, cancellation)
