"""What the postmortem shows of the help desk: counts, the conversations newest first, the likely final straw."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from feedback.extensions import db
from feedback.helpdesk.configured import LABELS
from feedback.helpdesk.models import Conversation, HelpdeskFetch
from feedback.postmortem.models import Cancellation


@dataclass
class History:
    #: In the look-back before the cancellation, newest first.
    conversations: list[Conversation] = field(default_factory=list)
    #: How many of them were in the COMPLAINT_WINDOW_DAYS before it.
    recent: int = 0
    window_days: int = 30
    lookback_days: int = 365
    #: The last conversation the customer opened before cancelling.
    final_straw: Conversation | None = None
    #: The newest fetch, to say "still reading" or why nothing came.
    fetch: HelpdeskFetch | None = None

    @property
    def total(self) -> int:
        return len(self.conversations)

    @property
    def period(self) -> str:
        return "the last year" if self.lookback_days == 365 else f"the last {self.lookback_days} days"

    @property
    def counts(self) -> str:
        """ "7 conversations in the last year, 3 in the 30 days before cancelling"."""
        noun = "conversation" if self.total == 1 else "conversations"
        return f"{self.total} {noun} in {self.period}, {self.recent} in the {self.window_days} days before cancelling"

    @property
    def waiting(self) -> bool:
        return self.fetch is not None and self.fetch.state == "queued"

    def __bool__(self) -> bool:
        return bool(self.conversations) or self.fetch is not None


def label(source: str) -> str:
    return LABELS.get(source, source)


def history_for(cancellation: Cancellation) -> History:
    config = current_app.config
    lookback, window = config["HELPDESK_LOOKBACK_DAYS"], config["COMPLAINT_WINDOW_DAYS"]
    history = History(window_days=window, lookback_days=lookback)
    history.fetch = db.session.scalar(
        select(HelpdeskFetch)
        .where(HelpdeskFetch.cancellation_id == cancellation.id)
        .order_by(HelpdeskFetch.id.desc())
        .limit(1)
    )
    if cancellation.customer_id is None:
        return history
    left: datetime = cancellation.cancelled_at
    history.conversations = list(
        db.session.scalars(
            select(Conversation)
            .where(
                Conversation.customer_id == cancellation.customer_id,
                Conversation.opened_at >= left - timedelta(days=lookback),
                Conversation.opened_at <= left,
            )
            .order_by(Conversation.opened_at.desc(), Conversation.id.desc())
        )
    )
    history.recent = sum(c.opened_at >= left - timedelta(days=window) for c in history.conversations)
    history.final_straw = next((c for c in history.conversations if c.opened_by_customer), None)
    return history


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    detail: str
    url: str = ""


def merged_timeline(cancellation: Cancellation, history: History) -> list[TimelineEntry]:
    """Farewell's own events and the customer's conversations, newest first (the postmortem's timeline)."""
    entries = [TimelineEntry(event.at, event.kind, event.detail) for event in cancellation.events]
    for c in history.conversations:
        words = f"{label(c.source)}: the customer opened “{c.subject or 'No subject'}”"
        if not c.opened_by_customer:
            words = f"{label(c.source)}: we wrote to the customer, “{c.subject or 'No subject'}”"
        entries.append(TimelineEntry(c.opened_at, "conversation", words + ".", c.url))
    # Stable: events at one instant keep the order they were recorded in, newest last before the reversal.
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
