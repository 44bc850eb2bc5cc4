"""How a queued message leaves the building: over SMTP, or into the local mailbox in development."""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Protocol

from flask import current_app
from flask_mail import Connection


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


class Sender(Protocol):
    """Sends one message in steps, so that the worker can use the database while the server works.

    `sending` is a generator that stops three times, each time with the server busy or waiting: after writing
    MAIL FROM (closing it there drops the message with RSET), after writing the message all but its final dot,
    and after writing that dot. It ends when the server accepted the message, or raises what `sendmail` raises.
    """

    def sending(self, envelope_from: str, recipient: str, raw: bytes) -> Iterator[None]: ...


class _LocalSender:
    """Development without SMTP: the message is already stored whole, so delivering it means nothing more."""

    def sending(self, envelope_from: str, recipient: str, raw: bytes) -> Iterator[None]:
        yield from (None, None, None)


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class _SMTPSender:
    """Sends messages that were built when queued, as they are, over one open connection.

    `smtplib.SMTP.sendmail` cut in steps (see Sender), raising the errors `sendmail` raises. MAIL FROM, RCPT TO,
    DATA and the message commit the server to nothing; a client that hangs up before the final dot leaves no
    message behind.
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

    def sending(self, envelope_from: str, recipient: str, raw: bytes) -> Iterator[None]:
        host = self.host
        host.ehlo_or_helo_if_needed()
        options = f" size={len(raw)}" if host.does_esmtp and host.has_extn("size") else ""
        if not (envelope_from.isascii() and recipient.isascii()):  # e.g. josé@…: RFC 6531, as sendmail does it
            if not host.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("the address is not ASCII and the server does not offer SMTPUTF8")
            options += " SMTPUTF8"
            host.command_encoding = "utf-8"
        host.putcmd("mail", f"FROM:{smtplib.quoteaddr(envelope_from)}{options}")
        try:
            yield  # the server reads MAIL FROM
        except GeneratorExit:
            # The message is not wanted after all; a connection that broke meanwhile is the next command's news.
            with suppress(smtplib.SMTPException, OSError):
                host.getreply()
                self._reset()
            raise
        code, response = host.getreply()
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPSenderRefused(code, response, envelope_from)
        code, response = host.docmd("rcpt", f"TO:{smtplib.quoteaddr(recipient)}")
        if code not in (250, 251):
            self._give_up(code)
            raise smtplib.SMTPRecipientsRefused({recipient: (code, response)})
        code, response = host.docmd("data")
        if code != 354:
            self._give_up(code)
            raise smtplib.SMTPDataError(code, response)
        self.inside_data = True
        quoted = _LEADING_DOT.sub(b"..", raw)  # what smtplib.SMTP.data sends
        host.send(quoted if quoted.endswith(b"\r\n") else quoted + b"\r\n")
        yield  # all but the final dot: the server may not accept the message yet
        host.send(b".\r\n")
        self.inside_data = False
        yield  # the server takes the message
        code, response = host.getreply()
        if code != 250:
            self._give_up(code)
            raise smtplib.SMTPDataError(code, response)

    def hang_up_if_inside_data(self) -> None:
        """Leaving in the middle of DATA (the worker failed before the final dot): the message never ends."""
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
    with TimeoutConnection(current_app.extensions["mail"]) as connection:
        sender = _SMTPSender(connection)
        try:
            yield sender
        finally:
            sender.hang_up_if_inside_data()
