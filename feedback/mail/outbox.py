"""Queueing mail: features call `enqueue` inside their own transaction and never talk to SMTP."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.mail.rendering import render_email

if TYPE_CHECKING:
    from feedback.cancellations.models import Cancellation


def header_safe(value: str) -> str:
    """Header values come from user data; a CR or LF in them would let it write headers of its own."""
    return " ".join(value.replace("\r", "\n").split("\n")).strip()


def enqueue(
    kind: str,
    *,
    to: str,
    to_name: str = "",
    subject: str,
    template: str,
    about: Cancellation | None = None,
    reply_to: str | None = None,
    due_at: datetime | None = None,
    **context: Any,
) -> OutboxMessage:
    """Renders the email now and stores it whole; it leaves when the worker finds it due."""
    subject = header_safe(subject)
    context.setdefault("cancellation", about)
    text, html = render_email(template, subject=subject, **context)
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    message = OutboxMessage(
        kind=kind,
        recipient=header_safe(to),
        recipient_name=header_safe(to_name),
        reply_to=header_safe(reply_to) if reply_to else None,
        subject=subject,
        body_text=text,
        body_html=html,
        message_id=make_msgid(idstring=kind.replace("_", "-"), domain=domain),
        cancellation=about,
        due_at=due_at or utcnow(),
    )
    db.session.add(message)
    return message
