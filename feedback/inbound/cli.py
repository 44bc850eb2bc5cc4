"""`flask inbound …`: take a message from a mail server's pipe, poll the IMAP mailbox, process what is stored."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from feedback.db import utcnow
from feedback.extensions import db
from feedback.inbound.operations import process_and_commit, process_stored, store_message

inbound = AppGroup("inbound", help="Replies and bounces that arrive by email.")

#: sysexits.h: the mail server keeps the message and tries again later.
EX_TEMPFAIL = 75
#: sysexits.h: the input was not a message; the mail server bounces it.
EX_DATAERR = 65


def _read_stdin(limit: int) -> tuple[bytes, int]:
    """At most `limit + 1` bytes are kept (enough to know it was too long); the rest is read and counted only,
    so the mail server is never left writing into a closed pipe."""
    stream = click.get_binary_stream("stdin")
    kept = stream.read(limit + 1)
    size = len(kept)
    while chunk := stream.read(64 * 1024):
        size += len(chunk)
    return kept, size


@inbound.command("receive")
@click.option("--recipient", default="", help="The envelope recipient (Postfix's ${original_recipient}).")
def receive(recipient: str) -> None:
    """Stores one raw message from standard input, then processes it. Exit 0 once stored, 75 to be retried."""
    raw, size = _read_stdin(current_app.config["INBOUND_MAX_BYTES"])
    if not raw.strip():
        click.echo("farewell: no message on standard input.", err=True)
        sys.exit(EX_DATAERR)
    try:
        message, stored = store_message(raw, via="pipe", envelope_recipient=recipient, size=size)
    except Exception as error:  # noqa: BLE001 - whatever it was, the mail server keeps the message and retries
        db.session.rollback()
        click.echo(f"farewell: could not store the message, try again later: {error.__class__.__name__}", err=True)
        sys.exit(EX_TEMPFAIL)
    if not stored:
        click.echo(f"farewell: already stored as inbound message {message.id} ({message.status}).")
        return
    message_id = message.id  # read now: after a rollback the row would be read again
    try:
        status = process_and_commit(message_id) or "received"
    except Exception as error:  # noqa: BLE001 - stored is what the mail server needs to hear; the job processes it
        db.session.rollback()
        status = f"received; processing waits for the inbound.process job: {error.__class__.__name__}"
    if status == "dropped":
        click.echo("farewell: dropped, not kept: it answers a postmortem whose customer's data was erased.")
        return
    click.echo(f"farewell: stored as inbound message {message_id} ({status}).")


@inbound.command("process")
def process() -> None:
    """Processes every stored message still waiting (after a crash, or a failure fixed and retried)."""
    counts = process_stored(utcnow())
    click.echo(", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "nothing waiting")


@inbound.command("poll")
def poll() -> None:
    """Reads new messages from INBOUND_IMAP_URL once, stores each, then processes them."""
    from feedback.inbound.jobs import poll_imap

    if not current_app.config.get("INBOUND_IMAP_URL"):
        raise click.UsageError("INBOUND_IMAP_URL is not set: there is no mailbox to read.")
    report = poll_imap(utcnow())
    db.session.commit()
    click.echo(report or "No new message.")
