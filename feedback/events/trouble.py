"""Disabling an endpoint that is gone or has failed for days, and telling the admins once, by the outbox."""

from __future__ import annotations

from sqlalchemy import update

from feedback.db import utcnow
from feedback.events.hooks import admins
from feedback.events.models import WebhookEndpoint
from feedback.extensions import db
from feedback.mail.outbox import enqueue
from feedback.urls import external_url


def disable(endpoint_id: int, url: str, reason: str) -> int:
    """Returns 1 if this call disabled it: the conditional UPDATE lets one worker do it, and one email go.

    Flushes; the caller commits the change and the emails together."""
    now = utcnow()
    changed = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return 0
    page = external_url("event_log.endpoint", endpoint_id=endpoint_id)
    for email, name in admins():
        enqueue(
            "webhook_disabled",
            to=email,
            to_name=name,
            subject=f"Webhook disabled: {url[:120]}",
            template="webhook_disabled",
            name=name,
            url=url,
            reason=reason,
            endpoint_url=page,
        )
    return 1
