"""Every email is a pair of templates, `emails/NAME.txt` and `emails/NAME.html`, rendered together."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING, Any

import css_inline
from flask import current_app, render_template

from feedback.mail.headers import POLICY, header_safe, mailbox, subject
from feedback.mail.hooks import sender_name

if TYPE_CHECKING:
    from feedback.mail.models import OutboxMessage

_inliner = css_inline.CSSInliner(keep_style_tags=True)


def render_email(template: str, **context: Any) -> tuple[str, str]:
    """Returns (text, html); the HTML has its stylesheet inlined, as mail clients ignore most <style> rules."""
    text = render_template(f"emails/{template}.txt", **context)
    html = render_template(f"emails/{template}.html", **context)
    return text.strip() + "\n", _inliner.inline(html)


def sender_address() -> tuple[str, str]:
    """The configured sender, with the company's name when the address came without one.

    A name an admin chose on the settings page wins over the one in MAIL_DEFAULT_SENDER.
    """
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    chosen, by_admin = sender_name()
    return (header_safe(chosen if by_admin else name or chosen), address)


def build_message(row: OutboxMessage) -> EmailMessage:
    """The message exactly as it leaves: the email log's preview shows these headers too.

    Addresses are built by `mailbox`, so a display name is quoted or encoded whole, whatever it holds (`<`, `"`, a
    comma, 200 characters); it can never close the address or start another.
    """
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject(row.subject)
    name, address = sender_address()
    message["From"] = mailbox(name, address)
    message["To"] = mailbox(row.recipient_name, row.recipient)
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    if row.reply_to:
        message["Reply-To"] = mailbox("", row.reply_to)
    if row.unsubscribe_url:
        # RFC 8058: the mail app may offer "Unsubscribe" and POST to the link itself, with no cookies.
        message["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(row.content.body_text, cte="base64")
    message.add_alternative(row.content.body_html, subtype="html", cte="base64")
    return message


def mime_bytes(row: OutboxMessage) -> bytes:
    """Built once, when queued: sending is then only SMTP, and the log's preview shows exactly what left."""
    return build_message(row).as_bytes()


_DATE_HEADER = re.compile(rb"^Date: [^\r\n]*", re.MULTILINE)


def as_sent(row: OutboxMessage, now: datetime) -> bytes:
    """The stored message, dated when it actually leaves (a retry or a delay may come hours after queueing)."""
    raw = row.content.mime or mime_bytes(row)
    head, separator, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    dated = _DATE_HEADER.sub(b"Date: " + format_datetime(now).encode(), head, count=1)
    return dated + separator + body
