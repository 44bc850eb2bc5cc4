"""Writing the trail: one call from wherever a change is made, inside that change's own transaction."""

from __future__ import annotations

import logging
from typing import Any

from flask import g, has_request_context, request

from feedback.audit.models import AuditEvent
from feedback.extensions import db

log = logging.getLogger("feedback.audit")


def _current_staff() -> Any:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user if getattr(current_user, "is_authenticated", False) else None


def _who(actor: Any) -> tuple[int | None, str]:
    if actor is not None:
        return actor.id, actor.email
    staff = _current_staff()
    if staff is not None:
        return staff.id, staff.email
    token = g.get("api_token") if has_request_context() else None
    if token is not None:
        return None, f"API token {token.name!r} ({token.prefix}…)"
    return None, "command line" if not has_request_context() else "anonymous"


def record(
    action: str, target: Any = None, detail: str = "", *, actor: Any = None, by: str | None = None
) -> AuditEvent:
    """Adds a row for `action` on `target` (a model instance with an id, or a (kind, id) pair).

    The actor is `actor` (a User), else the logged-in staff member, else the request's API token, else the
    command line; `by` names one outright ("retention job"). Flushes, never commits: the row lands or vanishes
    with the change it describes.
    """
    actor_id, actor_label = _who(actor)
    if by is not None:
        actor_label = by
    target_type, target_id = _target(target)
    event = AuditEvent(
        actor_id=actor_id,
        actor=actor_label[:300],
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
        client_address=(request.remote_addr or "")[:64] if has_request_context() else "",
    )
    db.session.add(event)
    db.session.flush()
    log.info("audit %s %s %s:%s", actor_label, action, target_type, target_id)
    return event


def _target(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    table = getattr(target, "__tablename__", type(target).__name__.lower())
    kind = table[:-3] + "y" if table.endswith("ies") else table.removesuffix("s")  # summaries → summary
    return kind, str(target.id)
