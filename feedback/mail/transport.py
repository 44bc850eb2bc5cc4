"""How a queued message leaves the building: over SMTP, or into the local mailbox in development."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from flask import current_app
from flask_mail import Connection, Mail


class TimeoutConnection(Connection):
    """Flask-Mail opens SMTP connections without a timeout; a stalled server would hang the worker forever."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        mail = self.mail
        timeout = current_app.config["MAIL_TIMEOUT"]
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if mail.use_ssl:
            host = smtplib.SMTP_SSL(mail.server, mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(mail.server, mail.port, timeout=timeout)
        try:
            host.set_debuglevel(int(mail.debug))
            if mail.use_tls:
                host.starttls()
            if mail.username and mail.password:
                host.login(mail.username, mail.password)
        except BaseException:
            host.close()
            raise
        return host


class TimeoutMail(Mail):
    def connect(self) -> TimeoutConnection:
        app = getattr(self, "app", None) or current_app
        return TimeoutConnection(app.extensions["mail"])


class Sender(Protocol):
    def send_raw(self, envelope_from: str, recipients: list[str], raw: bytes) -> None: ...


class _LocalSender:
    """Development without SMTP: the message is already stored whole, so delivering it means nothing more."""

    def send_raw(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        return None


class _SMTPSender:
    """Sends messages that were built when queued, as they are, over one open connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def send_raw(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        if self.connection.host is None:
            raise smtplib.SMTPServerDisconnected("the SMTP connection is not open")
        self.connection.host.sendmail(envelope_from, recipients, raw)


@contextmanager
def open_sender() -> Iterator[Sender]:
    """One connection for a whole batch; SMTP errors surface from `send` or from opening it."""
    if current_app.config["MAIL_BACKEND"] == "local":
        yield _LocalSender()
        return
    from feedback.extensions import mail

    with mail.connect() as connection:
        yield _SMTPSender(connection)
