"""Inbound's periodic work: read the IMAP mailbox, and process what any of the three ways in stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from feedback.extensions import db
from feedback.inbound.imap import mailbox_from_url, poll
from feedback.inbound.operations import forget_old_tokens, process_stored, store_message
from feedback.jobs import periodic, tally


@periodic("inbound.poll-imap", every=timedelta(minutes=1))
def poll_imap(now: datetime) -> str:
    """Stores each new message in INBOUND_IMAP_URL's mailbox, then marks it seen (or deletes it)."""
    url = current_app.config.get("INBOUND_IMAP_URL", "")
    if not url:
        return ""

    def store(raw: bytes, size: int) -> bool:
        try:
            return store_message(raw, via="imap", size=size)[1]
        except Exception:
            db.session.rollback()  # so the next message has a session to be stored with
            raise

    result = poll(mailbox_from_url(url), store, current_app.config["INBOUND_MAX_BYTES"])
    report = [tally(result.stored, "message stored", "messages stored")]
    report.append(tally(result.duplicates, "already stored", "already stored"))
    report.append(tally(result.not_stored, "could not be stored, left unseen", "could not be stored, left unseen"))
    return ", ".join(part for part in report if part)


@periodic("inbound.process", every=timedelta(minutes=1))
def process(now: datetime) -> str:
    """Makes replies, bounces and auto-replies of the stored messages; a failure is kept with its error."""
    counts = process_stored(now)
    forget_old_tokens(now)
    return ", ".join(f"{n} {status.replace('_', '-')}" for status, n in sorted(counts.items()))
