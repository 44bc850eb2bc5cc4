"""The reply address on every email to a customer, `replies+<key>@example.com`, and reading it back.

The key is signed over the cancellation (which has exactly one invitation) and the last day it works, with a salt
of its own: a forged or mangled key, or one made for another purpose (a survey link's token, a bounce address's
key), names nothing. That day is the survey link's lifetime plus REPLY_KEY_GRACE_DAYS after the email that carries
it; keys sent before keys carried a day work as long after the postmortem's last email (`reply_window`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email.utils import getaddresses

from flask import current_app

from feedback.db import utcnow
from feedback.settings.operations import current_settings
from feedback.signing import check_address_key, check_expiring_address_key, sign_address_key

REPLY_SALT = "reply-address"
BOUNCE_SALT = "bounce-address"


def reply_address_for(cancellation_id: int) -> str | None:
    """The Reply-To of a customer's email about this cancellation; None when REPLY_ADDRESS is not set."""
    base = current_app.config.get("REPLY_ADDRESS", "")
    if not base:
        return None
    local, _, domain = base.partition("@")
    expires_on = reply_deadline(utcnow())
    return f"{local}+{sign_address_key(cancellation_id, REPLY_SALT, expires_on)}@{domain}"


def reply_window() -> timedelta:
    """How long after an email its reply address (or a reply naming its Message-ID) still counts: the survey
    link's lifetime (an admin's setting) plus REPLY_KEY_GRACE_DAYS."""
    return timedelta(days=current_settings().survey_link_days + current_app.config["REPLY_KEY_GRACE_DAYS"])


def reply_deadline(sent_at: datetime) -> date:
    """The last day a reply to an email sent at `sent_at` counts as the customer's by its address alone."""
    return (sent_at + reply_window()).date()


def subaddress_keys(addresses: list[str], base: str) -> list[str]:
    """The `+<key>` parts of those addresses that are `base` with a key, in the order given."""
    if not base:
        return []
    local, _, domain = base.lower().partition("@")
    pattern = re.compile(rf"^{re.escape(local)}\+([^@]+)@{re.escape(domain)}$")
    keys = []
    for _, address in getaddresses(addresses):
        match = pattern.match(address.strip().lower())
        if match and match.group(1) not in keys:
            keys.append(match.group(1))
    return keys


def reply_keys(addresses: list[str]) -> list[str]:
    return subaddress_keys(addresses, current_app.config.get("REPLY_ADDRESS", ""))


def cancellation_for_key(key: str) -> tuple[int, date | None] | None:
    """(the cancellation a genuine reply key was made for, the last day it works or None for an older key), or
    None for a key that is not genuine."""
    return check_expiring_address_key(key, REPLY_SALT)


def bounce_address_for(outbox_message_id: int) -> str | None:
    """The envelope sender (Return-Path) of one outbox message, `bounces+<key>@…`; None when BOUNCE_ADDRESS is unset."""
    base = current_app.config.get("BOUNCE_ADDRESS", "")
    if not base:
        return None
    local, _, domain = base.partition("@")
    return f"{local}+{sign_address_key(outbox_message_id, BOUNCE_SALT)}@{domain}"


def bounced_message_ids(addresses: list[str]) -> list[int]:
    """The outbox messages named by genuine keys in `bounces+<key>@…` addresses among those given."""
    keys = subaddress_keys(addresses, current_app.config.get("BOUNCE_ADDRESS", ""))
    return [number for key in keys if (number := check_address_key(key, BOUNCE_SALT)) is not None]
