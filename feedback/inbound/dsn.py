"""Delivery status notifications (RFC 3464): which of our messages did not arrive, for whom, and for good or not."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser

_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class FailedRecipient:
    address: str
    #: failed, delayed, delivered, relayed or expanded (RFC 3464's Action).
    action: str
    #: The enhanced status code, e.g. 5.1.1.
    status: str
    #: What the remote server said, e.g. "smtp; 550 5.1.1 No such user".
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.action == "failed" or self.status.startswith("5")

    def describe(self) -> str:
        return f"{self.status or self.action} {self.diagnostic}".strip()


@dataclass
class DeliveryReport:
    #: The Message-ID of the message that did not arrive, when the report returned its headers.
    original_message_id: str = ""
    recipients: list[FailedRecipient] = field(default_factory=list)
    reporting_mta: str = ""

    @property
    def permanent(self) -> list[FailedRecipient]:
        return [r for r in self.recipients if r.permanent]


def _is_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and (message.get_param("report-type") or "").lower() == "delivery-status"  # type: ignore[union-attr]
    )


def delivery_report(message: Message) -> DeliveryReport | None:
    """The report in a `multipart/report; report-type=delivery-status` message, or None for any other message."""
    try:
        if not _is_report(message):
            return None
        report = DeliveryReport()
        for part in message.get_payload():  # type: ignore[union-attr]
            content_type = part.get_content_type()
            if content_type == "message/delivery-status":
                _read_status(part, report)
            elif content_type in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
                report.original_message_id = report.original_message_id or _returned_message_id(part)
        return report
    except Exception:  # noqa: BLE001 - a report too broken to read is an ordinary message with no meaning
        return None


def _fields(part: Message) -> list[Message]:
    """The status groups: the parser gives them as header blocks, or as raw text when it did not split them."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    text = part.get_payload(decode=True)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def _read_status(part: Message, report: DeliveryReport) -> None:
    groups = _fields(part)
    if groups:
        report.reporting_mta = _value(groups[0], "Reporting-MTA")
    for group in groups:
        recipient = _value(group, "Final-Recipient") or _value(group, "Original-Recipient")
        if not recipient:
            continue
        status = _STATUS.search(str(group.get("Status", "")))
        report.recipients.append(
            FailedRecipient(
                address=recipient.strip("<> ").lower()[:254],
                action=_text(group, "Action").strip().lower(),
                status=".".join(status.groups()) if status else "",
                diagnostic=" ".join(_text(group, "Diagnostic-Code").split())[:500],
            )
        )


def _text(group: Message, name: str) -> str:
    """A field as text a database can hold (PostgreSQL refuses NUL characters)."""
    return str(group.get(name, "") or "").replace("\x00", "")


def _value(group: Message, name: str) -> str:
    """`rfc822; someone@example.com` → `someone@example.com`."""
    value = _text(group, name)
    return value.partition(";")[2].strip() if ";" in value else value.strip()


def _returned_message_id(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        headers = payload[0]
    else:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        headers = HeaderParser().parsestr(text)
    match = _MESSAGE_ID.search(str(headers.get("Message-ID", "") or ""))
    return match.group(1) if match else ""
