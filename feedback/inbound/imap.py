"""Reading the mailbox named by INBOUND_IMAP_URL: each new message is stored first, and only then marked seen
(or deleted), so a crash or a lost database between the two leaves it unseen for the next poll, never lost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from imapclient import IMAPClient
from imapclient.imapclient import DELETED, SEEN

from feedback.config import is_loopback

#: At most this many messages are taken in one poll; the rest wait for the next.
BATCH = 100
TIMEOUT_SECONDS = 30


class BadMailboxURL(ValueError):
    """INBOUND_IMAP_URL is not imaps://user:password@host[:port]/FOLDER (imap:// on loopback only)."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    ssl: bool
    username: str
    password: str
    folder: str
    #: `?delete=yes`: delete each message once stored, instead of marking it \Seen.
    delete: bool = False

    def __str__(self) -> str:  # never the password
        return f"{'imaps' if self.ssl else 'imap'}://{self.username}@{self.host}:{self.port}/{self.folder}"


def mailbox_from_url(url: str) -> Mailbox:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise BadMailboxURL("INBOUND_IMAP_URL must look like imaps://user:password@imap.example.com/INBOX.")
    if parts.scheme == "imap" and not is_loopback(parts.hostname):
        raise BadMailboxURL("INBOUND_IMAP_URL may use imap:// (no TLS) only on loopback; use imaps://.")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError:
        raise BadMailboxURL("INBOUND_IMAP_URL has a port that is not a number.") from None
    delete = parse_qs(parts.query).get("delete", ["no"])[0].lower() in {"1", "yes", "true"}
    return Mailbox(
        host=parts.hostname,
        port=port,
        ssl=parts.scheme == "imaps",
        username=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        delete=delete,
    )


@dataclass
class Poll:
    stored: int = 0
    duplicates: int = 0
    #: Messages `store` raised on: left unseen for the next poll, and passed over in this one.
    not_stored: int = 0


def poll(mailbox: Mailbox, store: Callable[[bytes, int], bool], max_bytes: int) -> Poll:
    """Stores each unseen message with `store(raw, size)` (True when it was new), then marks or deletes it.

    A message over `max_bytes` is fetched only that far (IMAP's partial fetch): the rest never leaves the server.
    A message `store` raises on stays unseen and the poll goes on with the next, so one message can never hold
    back the ones after it; when every message raised (the database is away, say) the first error is raised.
    """
    result = Poll()
    with IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.ssl, timeout=TIMEOUT_SECONDS) as client:
        client.login(mailbox.username, mailbox.password)
        client.select_folder(mailbox.folder)
        uids = client.search(["UNSEEN", "NOT", "DELETED"])[:BATCH]
        body = f"BODY.PEEK[]<0.{max_bytes + 1}>"  # PEEK: reading it does not mark it seen
        first_error: Exception | None = None
        for uid in uids:
            fetched = client.fetch([uid], ["RFC822.SIZE", body]).get(uid)
            if fetched is None:  # another poller deleted it meanwhile
                continue
            raw = next((value for key, value in fetched.items() if key.startswith(b"BODY[]")), b"") or b""
            try:
                new = store(raw, int(fetched.get(b"RFC822.SIZE", len(raw))))
            except Exception as error:  # noqa: BLE001 - left unseen; the next message is no less worth storing
                result.not_stored += 1
                first_error = first_error or error
                continue
            result.stored += 1 if new else 0
            result.duplicates += 0 if new else 1
            client.add_flags([uid], [DELETED] if mailbox.delete else [SEEN])
        if mailbox.delete and uids:
            client.expunge()
    if first_error is not None and not (result.stored or result.duplicates):
        raise first_error
    return result
