"""What every help-desk client gives back, and what it may be asked: one search by address, and a connection test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from feedback.helpdesk.http import HelpdeskError
from feedback.helpdesk.models import MAX_KEPT, OPENING_LIMIT
from feedback.helpdesk.text import cut, single_line

#: A page that never ends stops here (the vendors' own limits are far below this for one customer).
MAX_PAGES = 20


@dataclass
class Found:
    """One conversation as a client read it, already reduced to text and cut to size."""

    external_id: str
    url: str
    subject: str
    status: str
    channel: str
    opened_at: datetime
    solved_at: datetime | None = None
    replies: int | None = None
    satisfaction: str = ""
    tags: list[str] = field(default_factory=list)
    opening_message: str = ""
    opened_by_customer: bool = True

    def __post_init__(self) -> None:
        self.external_id = single_line(self.external_id, 100)
        # Shown as a link: only a web address, never javascript: or data:.
        self.url = self.url.strip() if self.url.strip().lower().startswith(("https://", "http://")) else ""
        self.subject = single_line(self.subject, 500)
        self.status = single_line(self.status, 40)
        self.channel = single_line(self.channel, 40)
        self.satisfaction = single_line(self.satisfaction, 40)
        self.tags = [single_line(tag, 80) for tag in self.tags if isinstance(tag, str) and tag.strip()][:30]
        self.opening_message = cut(self.opening_message, OPENING_LIMIT)
        if self.replies is not None and (not isinstance(self.replies, int) or self.replies < 0):
            self.replies = None


class Connector(Protocol):
    #: zendesk, freshdesk, helpscout, helpspot: the Conversation's source.
    name: str
    #: How messages name it: "Zendesk".
    label: str

    def conversations(self, email: str, since: datetime) -> Iterator[Found]:
        """The customer's conversations opened since `since`, newest first, at most MAX_KEPT; HelpdeskError."""
        ...

    def close(self) -> None: ...


def searchable(label: str, email: str) -> str:
    """The address as it may go into a search: quotes, backslashes and spaces could change a query, so refuse."""
    email = email.strip()
    if not email or any(ch in email for ch in '"\\ ()\t\r\n') or "@" not in email:
        raise HelpdeskError(f"The address {email!r} cannot be searched in {label} safely.", retry=False)
    return email


def newest(found: Iterator[Found], since: datetime) -> list[Found]:
    """At most MAX_KEPT conversations opened since `since`, newest first, whatever order the pages came in."""
    kept = [item for item in found if item.opened_at >= since]
    kept.sort(key=lambda item: item.opened_at, reverse=True)
    return kept[:MAX_KEPT]
