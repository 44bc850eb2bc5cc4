"""What mail learns from features, registered at start-up: it never imports them.

- A *send check* for a kind of message says, just before it goes, why it must not go after all ("" to send):
  a survey reminder whose survey was answered meanwhile. It reads on the worker's connection.
- The *sender name* is the name on the From line when the configured sender address comes without one.
- The *company name* is what email signs with ("Farewell for <company>"), for senders below the settings
  feature (the password reset of feedback.auth), which cannot read Admin → Settings themselves.
- *Customer footer links*: more links for the footer of every email to a customer (withdrawing a consent).
- The *customer reply address* is the Reply-To of email to a customer about a cancellation: when it gives one
  (`replies+<key>@…`, see feedback.inbound), the customer's reply comes back to Farewell instead of a person.
- The *envelope sender* of one outbox message (its Return-Path), when it gives one (`bounces+<key>@…`): a
  bounce then names the message it is about, whatever the remote server kept of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import Connection

if TYPE_CHECKING:
    from feedback.mail.models import OutboxMessage

SendCheck = Callable[["OutboxMessage", Connection], str]

_HOOKS = "farewell.mail"


def _hooks(app: Flask) -> dict[str, Any]:
    return app.extensions.setdefault(
        _HOOKS,
        {
            "send_checks": {},
            "sender_name": None,
            "company_name": None,
            "customer_footer": [],
            "reply_address": None,
            "envelope_sender": None,
        },
    )


def check_before_sending(app: Flask, kind: str, check: SendCheck) -> None:
    """Registers `check` for messages of `kind`; a second registration for the kind replaces the first."""
    _hooks(app)["send_checks"][kind] = check


def send_check(kind: str) -> SendCheck | None:
    return _hooks(current_app)["send_checks"].get(kind)


def sender_name_from(app: Flask, name: Callable[[], tuple[str, bool]]) -> None:
    """`name()` returns (the sender name, whether an admin chose it): a chosen name wins over the address's own."""
    _hooks(app)["sender_name"] = name


def sender_name() -> tuple[str, bool]:
    name = _hooks(current_app)["sender_name"]
    return name() if name is not None else ("", False)


def company_name_from(app: Flask, name: Callable[[], str]) -> None:
    """`name()` returns the company's name as Admin → Settings (or COMPANY_NAME) has it."""
    _hooks(app)["company_name"] = name


def company_name() -> str:
    """The company's name for an email's sign-off; COMPANY_NAME when no feature registered one."""
    name = _hooks(current_app)["company_name"]
    return name() if name is not None else current_app.config["COMPANY_NAME"]


def customer_footer_from(app: Flask, links: Callable[[str], dict[str, Any]]) -> None:
    """`links(address)` returns template context (a URL or None per name) for the footer of email to a customer."""
    _hooks(app)["customer_footer"].append(links)


def customer_footer(address: str) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for links in _hooks(current_app)["customer_footer"]:
        context.update(links(address))
    return context


def customer_reply_address_from(app: Flask, address: Callable[[int], str | None]) -> None:
    """`address(cancellation_id)` is the Reply-To for a customer's email about it, or None to keep the caller's."""
    _hooks(app)["reply_address"] = address


def customer_reply_address(cancellation_id: int) -> str | None:
    address = _hooks(current_app)["reply_address"]
    return address(cancellation_id) if address is not None else None


def envelope_sender_from(app: Flask, address: Callable[[int], str | None]) -> None:
    """`address(outbox_message_id)` is that message's envelope sender (MAIL FROM), or None for the sender address."""
    _hooks(app)["envelope_sender"] = address


def envelope_sender(outbox_message_id: int) -> str | None:
    address = _hooks(current_app)["envelope_sender"]
    return address(outbox_message_id) if address is not None else None
