"""How a queued message leaves the building: over SMTP, or into the local mailbox in development."""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
            # The worker ends each message with a separate small write (its final dot, see _SMTPSender), which
            # Nagle's algorithm would hold back until the server acknowledged the body: up to 40 ms per message.
            host.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
    """Sends one message in steps, so the worker can announce the next message while it records the last."""

    def envelope(self, envelope_from: str, recipients: list[str], raw: bytes) -> None: ...

    def open_data(self) -> None: ...

    def abandon(self) -> None: ...

    def send_body(self, raw: bytes) -> None: ...

    def finish(self) -> None: ...


class _LocalSender:
    """Development without SMTP: the message is already stored whole, so delivering it means nothing more."""

    def envelope(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        return None

    def open_data(self) -> None:
        return None

    def abandon(self) -> None:
        return None

    def send_body(self, raw: bytes) -> None:
        return None

    def finish(self) -> None:
        return None


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class _SMTPSender:
    """Sends messages that were built when queued, as they are, over one open connection.

    `smtplib.SMTP.sendmail` cut in steps: `envelope` (MAIL FROM, RCPT TO) and `open_data` (DATA, up to the
    server's 354), which commit the server to nothing and can be dropped with `abandon` (RSET) before the 354;
    `send_body` (the message without its final dot), which still commits it to nothing (a client that hangs up
    now leaves no message); then `finish` (the final dot, and the server's acceptance). Errors are those
    `sendmail` raises.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        #: Between the 354 and the final dot, the server reads everything as the message: no QUIT, only hanging up.
        self.inside_data = False

    @property
    def host(self) -> smtplib.SMTP:
        if self.connection.host is None:
            raise smtplib.SMTPServerDisconnected("the SMTP connection is not open")
        return self.connection.host

    def envelope(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        host = self.host
        host.ehlo_or_helo_if_needed()
        options = [f"size={len(raw)}"] if host.does_esmtp and host.has_extn("size") else []
        code, response = host.mail(envelope_from, options)
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPSenderRefused(code, response, envelope_from)
        refused = {}
        for recipient in recipients:
            code, response = host.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, response)
            if code == 421:
                host.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            self._reset()
            raise smtplib.SMTPRecipientsRefused(refused)

    def open_data(self) -> None:
        host = self.host
        code, response = host.docmd("data")
        if code != 354:
            self._give_up(code)
            raise smtplib.SMTPDataError(code, response)
        self.inside_data = True

    def abandon(self) -> None:
        """Drops the announced message: it turned out not to be wanted after all."""
        self._reset()

    def send_body(self, raw: bytes) -> None:
        """The message itself, all but its final dot: until that dot the server may not accept it."""
        quoted = _LEADING_DOT.sub(b"..", raw)  # what smtplib.SMTP.data sends
        self.host.send(quoted if quoted.endswith(b"\r\n") else quoted + b"\r\n")

    def finish(self) -> None:
        """The final dot: the server accepts the message (250) or refuses it."""
        host = self.host
        host.send(b".\r\n")
        self.inside_data = False
        code, response = host.getreply()
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPDataError(code, response)

    def hang_up_if_inside_data(self) -> None:
        """Leaving in the middle of DATA (the worker failed between announcing and sending): the message never ends."""
        if self.inside_data and self.connection.host is not None:
            self.connection.host.close()
            self.connection.host = None

    def _give_up(self, code: int) -> None:
        if code == 421:
            self.host.close()
        else:
            self._reset()

    def _reset(self) -> None:
        """RSET after a refusal, as `sendmail` does; a server that hung up is reported by the next command."""
        with suppress(smtplib.SMTPServerDisconnected):
            self.host.rset()


@contextmanager
def open_sender() -> Iterator[Sender]:
    """One connection for a whole batch; SMTP errors surface from `send` or from opening it."""
    if current_app.config["MAIL_BACKEND"] == "local":
        yield _LocalSender()
        return
    from feedback.extensions import mail

    with mail.connect() as connection:
        sender = _SMTPSender(connection)
        try:
            yield sender
        finally:
            sender.hang_up_if_inside_data()
