"""The outbox worker: delivers due messages over one connection, retries what failed, loses nothing."""

from __future__ import annotations

import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from flask import current_app
from flask_mail import Message
from sqlalchemy import select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.mail.signals import message_sent
from feedback.mail.transport import open_sender
from feedback.settings.operations import current_settings, defaults

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, will retry {self.retrying}, failed {self.failed}"


def sender_address() -> tuple[str, str]:
    """The configured sender, with the company's name when the address came without one."""
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    settings = current_settings()
    if settings.sender_name != defaults().sender_name:  # an admin chose a sender name on the settings page
        return (settings.sender_name, address)
    return (name or settings.sender_name, address)


def build_message(row: OutboxMessage) -> Message:
    message = Message(
        subject=row.subject,
        recipients=[formataddr((row.recipient_name, row.recipient)) if row.recipient_name else row.recipient],
        body=row.body_text,
        html=row.body_html,
        sender=sender_address(),
        reply_to=row.reply_to,
    )
    message.msgId = row.message_id
    return message


def is_permanent(error: Exception) -> bool:
    """A 5xx for the recipient will fail the same way tomorrow; anything else may pass on a retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPSenderRefused)
    return False


def record_failure(row: OutboxMessage, error: Exception, now: datetime) -> bool:
    """Returns True if the message will be retried, False if it is now failed for good."""
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    if is_permanent(error) or row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        row.status = "failed"
        row.failed_at = now
        return False
    base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    delay = base * 2 ** (row.attempts - 1) * random.uniform(0.5, 1.5)
    row.due_at = now + timedelta(seconds=delay)
    return True


def due_messages(now: datetime, limit: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "queued", OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def deliver_due(limit: int = 500, now: datetime | None = None) -> DeliveryReport:
    """Sends every message that is due, each once; commits after each so a crash repeats nothing sent."""
    report = DeliveryReport()
    now = now or utcnow()
    pending = due_messages(now, limit)
    if not pending:
        return report
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with open_sender() as sender:
            while pending:
                row = pending[0]
                try:
                    sender.send(build_message(row))
                except smtplib.SMTPServerDisconnected:
                    raise  # the connection is gone: the rest of the batch fails with it
                except (smtplib.SMTPException, ValueError) as error:
                    pending.pop(0)
                    _count(report, record_failure(row, error, utcnow()))
                else:
                    pending.pop(0)
                    row.status = "sent"
                    row.sent_at = utcnow()
                    message_sent.send(app, message=row)
                    report.sent += 1
                db.session.commit()
    except (OSError, smtplib.SMTPException) as error:
        log.warning("SMTP unavailable, %d message(s) will be retried: %s", len(pending), error)
        for row in pending:
            _count(report, record_failure(row, error, utcnow()))
        db.session.commit()
    return report


def _count(report: DeliveryReport, retrying: bool) -> None:
    if retrying:
        report.retrying += 1
    else:
        report.failed += 1
