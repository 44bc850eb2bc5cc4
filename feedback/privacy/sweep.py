"""Clearing a person from every row that names her, found through the declared personal columns.

The erasure's first pass follows the keys (her customers, her cancellations, the mail about them); this one
catches what no key links to her: action items, win-back notices, outbox mail without a cancellation, received
mail that was never matched or failed, uploads never confirmed, replays, audit details.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, LargeBinary, delete, select

from feedback.db import Model, personal_columns, utcnow
from feedback.extensions import db
from feedback.imports.models import ImportRun
from feedback.inbound.models import CustomerReply, InboundMessage
from feedback.mail.models import OutboxContent, OutboxMessage, Suppression
from feedback.postmortem.models import Cancellation, Customer
from feedback.privacy.mentions import rows_naming
from feedback.privacy.scrub import Scrubber, address_hash
from feedback.winback.models import WinbackNotice

#: The outbox needs a recipient; this one can't be delivered (RFC 6761's .invalid).
ERASED_ADDRESS = "erased@erased.invalid"


def sweep(email: str, scrub: Scrubber, theirs: set[int], kept: set[int]) -> int:
    """Clears every row naming the person, except those of `kept` cancellations (retention keeps her other,
    younger postmortems as they are). Returns how many rows were touched. Flushes."""
    touched = 0
    for row in list(rows_naming(scrub.identifiers, theirs)):
        if _linked_to(row, kept):
            continue
        ERASERS.get(type(row), _scrub_row)(row, email, scrub)
        touched += 1
    db.session.flush()
    return touched


def erase_message(message: OutboxMessage, email: str, scrub: Scrubber) -> None:
    """An email to or about her: the address goes, the body goes, one still queued is never sent."""
    if email and message.recipient.strip().lower() == email:
        message.recipient = ERASED_ADDRESS
        message.recipient_name = ""
    message.recipient_name = scrub.text(message.recipient_name)
    if message.reply_to and scrub.found_in(message.reply_to):
        message.reply_to = None  # a reply forwarded to the owner answered to the customer
    message.subject = scrub.text(message.subject)
    message.last_error = scrub.text(message.last_error)
    message.bounce_detail = scrub.text(message.bounce_detail)
    message.unsubscribe_url = None  # its token carries the address
    if message.status == "queued":
        message.status, message.claimed_by, message.lease_expires_at = "skipped", None, None
        message.last_error = "Not sent: the customer's personal data was erased."
    if message.content is not None:
        message.content.body_text = ""
        message.content.body_html = ""
        message.content.mime = None


def _linked_to(row: Model, kept: set[int]) -> bool:
    """Whether the row may be about a postmortem retention keeps: linked to one, or linked to none (a forward, a
    reminder), which waits until her last postmortem is due and the sweep clears everything."""
    if not kept:
        return False
    if isinstance(row, Cancellation):
        return row.id in kept
    if isinstance(row, Customer):
        linked = select(Cancellation.id).where(Cancellation.customer_id == row.id, Cancellation.id.in_(kept))
        return db.session.scalar(linked.limit(1)) is not None
    if isinstance(row, OutboxContent):
        row = row.message
    linked = getattr(row, "cancellation_id", None)
    return linked is None or linked in kept


def _scrub_row(row: Model, email: str, scrub: Scrubber) -> None:
    """Her words blanked in every personal column; a binary one (a copy of the same text) goes."""
    for column in personal_columns(type(row)):
        value = getattr(row, column.key)
        if value is None:
            continue
        if isinstance(column.type, LargeBinary):
            setattr(row, column.key, None if column.nullable else b"")
        elif isinstance(column.type, JSON):
            setattr(row, column.key, scrub.json(value))
        elif not column.unique:  # a unique key (an external id) of someone else's record is theirs, not hers
            setattr(row, column.key, scrub.text(value))


def _received(row: InboundMessage | CustomerReply, email: str, scrub: Scrubber) -> None:
    """Mail from or about her that no postmortem of anyone else holds: her words, so it goes whole."""
    if isinstance(row, InboundMessage):
        db.session.execute(delete(CustomerReply).where(CustomerReply.inbound_message_id == row.id))
    db.session.delete(row)


def _upload(run: ImportRun, email: str, scrub: Scrubber) -> None:
    """A file naming her goes; one still waiting to be checked or confirmed is discarded with it. One the worker
    holds right now is left to finish (cutting it out would fail the import for everyone in it)."""
    if run.claimed_by is not None:
        return
    run.data = None
    run.problems = scrub.json(run.problems)
    run.filename = scrub.text(run.filename)
    run.error = scrub.text(run.error)
    if run.status in ("uploaded", "checked", "confirmed"):
        run.status, run.finished_at = "failed", utcnow()
        run.error = "Discarded: the file named a customer whose personal data was erased."


def _outbox_content(content: OutboxContent, email: str, scrub: Scrubber) -> None:
    erase_message(content.message, email, scrub)


def _notice(notice: WinbackNotice, email: str, scrub: Scrubber) -> None:
    """The notice is once per address and item: her address becomes its hash (as a suppression's does), so two
    erased customers told about one change stay two rows, and she, back under the same address, is not told twice."""
    if notice.email and not notice.email.startswith("sha256:") and scrub.found_in(notice.email):
        notice.email = address_hash(notice.email)
    notice.subject = scrub.text(notice.subject)
    notice.body = scrub.text(notice.body)


def _suppression(suppression: Suppression, email: str, scrub: Scrubber) -> None:
    """The address itself is hashed by the erasure (or kept, for retention); only the reason's words go."""
    suppression.reason = scrub.text(suppression.reason)


ERASERS: dict[type[Any], Callable[[Any, str, Scrubber], None]] = {
    OutboxMessage: erase_message,
    OutboxContent: _outbox_content,
    InboundMessage: _received,
    CustomerReply: _received,
    ImportRun: _upload,
    Suppression: _suppression,
    WinbackNotice: _notice,
}
