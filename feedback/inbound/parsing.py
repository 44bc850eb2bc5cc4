"""Reading a raw message: who sent it, what it answers, whether a machine wrote it, and what the person typed.

Nothing here trusts the message: every header is read defensively (a malformed one reads as empty), attachments
are listed by name and never opened, and the text is cut to what the sender wrote above the quoted history.
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from mailparser_reply.parser import EmailMessage as ReplyText

from feedback.inbound.dsn import DeliveryReport, delivery_report

#: The languages whose quote headers and signatures are recognised (those Farewell writes its emails in).
LANGUAGES = ["en", "de", "fr"]
#: Farewell's own marker at the top of its emails (`emails/_reply_marker.txt`), in any language: "##- … -##".
_MARKER = re.compile(r"^[>\s]*##-.*-##\s*$")
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
#: A subject machines use for an answer no person wrote.
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic|matische|matique)?[ -]?(reply|response|antwort|réponse)|out of (the )?office|autoreply"
    r"|auto:|abwesen|réponse automatique|absence|absent|vacation|urlaub|congés)",
    re.IGNORECASE,
)
#: At most this much text is kept of one reply.
MAX_TEXT = 20_000


@dataclass
class ParsedMessage:
    message_id: str = ""
    from_address: str = ""
    from_name: str = ""
    subject: str = ""
    #: Every address it was sent to, as the headers say (To, Cc, Delivered-To, X-Original-To, Envelope-To).
    recipients: list[str] = field(default_factory=list)
    #: The Message-IDs it answers (In-Reply-To first, then References, newest first), without brackets.
    answers: list[str] = field(default_factory=list)
    #: Why a machine wrote it ("" for a person).
    auto_reply: str = ""
    text: str = ""
    attachments: list[str] = field(default_factory=list)
    date: datetime | None = None
    report: DeliveryReport | None = None


def message_key(raw: bytes) -> str:
    """What makes a message unique: its Message-ID, else (none, or an absurd one) a hash of its bytes."""
    match = _MESSAGE_ID.search(_header(_parse(raw), "Message-ID"))
    return match.group(1) if match else "sha256:" + hashlib.sha256(raw).hexdigest()


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def _header(message: Message, name: str) -> str:
    """A header as text, or "" when it is missing or too broken to read."""
    try:
        value = message.get(name)
        return str(value).strip() if value is not None else ""
    except Exception:  # noqa: BLE001 - a header the parser can't read is simply not there
        return ""


def _headers(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name) or []]
    except Exception:  # noqa: BLE001
        return []


def parse(raw: bytes) -> ParsedMessage:
    message = _parse(raw)
    name, address = parseaddr(_header(message, "From"))
    parsed = ParsedMessage(
        message_id=message_key(raw),
        from_address=address.strip().lower()[:254],
        from_name=name[:200],
        subject=" ".join(_header(message, "Subject").split())[:300],
    )
    for header in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        parsed.recipients += [a for _, a in getaddresses(_headers(message, header)) if a]
    answers = _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    answers += reversed(_MESSAGE_ID.findall(_header(message, "References")))
    parsed.answers = list(dict.fromkeys(answers))
    try:
        parsed.date = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        parsed.date = None
    parsed.report = delivery_report(message)
    parsed.auto_reply = "" if parsed.report else auto_reply_reason(message, parsed)
    body, parsed.attachments = _body(message)
    parsed.text = new_text(body)
    return parsed


def auto_reply_reason(message: Message, parsed: ParsedMessage) -> str:
    """Why this was written by a machine (RFC 3834 and the headers mail systems use instead), or ""."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _header(message, name):
            return f"{name} header"
    precedence = _header(message, "Precedence").lower()
    if precedence in {"bulk", "auto_reply", "list", "junk"}:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.match(parsed.subject):
        return f"an automatic reply's subject ({parsed.subject})"
    local = parsed.from_address.partition("@")[0]
    if local in {"mailer-daemon", "postmaster"}:
        return "sent by a mail system, without a delivery report"
    return ""


def _body(message: Message) -> tuple[str, list[str]]:
    """The text the sender wrote (plain text preferred, else HTML as text) and the names of the attachments."""
    plain: str | None = None
    html: str | None = None
    attachments: list[str] = []
    for part in _leaves(message):
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        content_type = part.get_content_type()
        if disposition == "attachment" or filename or not content_type.startswith("text/"):
            if content_type != "message/delivery-status":
                attachments.append(filename or content_type)
            continue
        if content_type == "text/plain" and plain is None:
            plain = _text_of(part)
        elif content_type == "text/html" and html is None:
            html = _text_of(part)
    if plain is not None and plain.strip():
        return plain, attachments
    return (html_to_text(html) if html else ""), attachments


def _leaves(message: Message) -> list[Message]:
    """The parts that are not containers; an attached message counts as one attachment, never opened."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        return [leaf for part in message.get_payload() for leaf in _leaves(part)]  # type: ignore[union-attr]
    return [message]


def _filename(part: Message) -> str:
    try:
        return (part.get_filename() or "")[:200]
    except Exception:  # noqa: BLE001
        return "attachment"


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python has never heard of
        return payload.decode("utf-8", errors="replace")


def new_text(body: str) -> str:
    """What the sender typed: cut at Farewell's marker first, then quoted history and signature removed."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines):
        if _MARKER.match(line):
            lines = lines[:number]
            break
    text = "\n".join(lines)
    with contextlib.suppress(Exception):  # the library failing on odd text: better the whole text than none
        # The newest part only, without its sign-off and signature; a list typed with hyphens is kept.
        text = ReplyText(text=text, languages=LANGUAGES, keep_hyphen_lists=True).read().replies[0].body
    text = _drop_trailing_attribution(text)
    text = _MOBILE_SIGNATURE.sub("", text.rstrip())
    return text.strip()[:MAX_TEXT]


#: The phones' own last lines that the library knows in English only ("Sent from my iPhone").
_MOBILE_SIGNATURE = re.compile(
    r"\n\s*(Von meinem \S+( \S+)? gesendet|Gesendet von meinem \S+.*|Envoyé de mon \S+.*|Envoyé depuis mon \S+.*)$",
    re.IGNORECASE,
)


#: "On … wrote:", "Am … schrieb …:", "Le … a écrit :": left over when the marker cut below it.
_ATTRIBUTION = re.compile(r"(^|\n)[^\n]*(wrote|schrieb|a écrit)\s*:?\s*$", re.IGNORECASE)


def _drop_trailing_attribution(text: str) -> str:
    stripped = text.rstrip()
    match = _ATTRIBUTION.search(stripped)
    if match and len(stripped) - match.start() < 300:
        return stripped[: match.start()]
    return stripped


class _TextFromHTML(HTMLParser):
    """HTML as the plain text a reader sees: blocks on their own lines, quoted blocks marked with '>'."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr", "pre"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote_depth = 0
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag == "blockquote":
            self.quote_depth += 1
            self.lines.append("")
        elif tag in self.BLOCKS:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self.lines.append("")
        elif tag in self.BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        words = " ".join(data.split())
        if not words:
            return
        if not self.lines[-1] and self.quote_depth:
            self.lines[-1] = "> " * self.quote_depth
        self.lines[-1] = f"{self.lines[-1]} {words}" if self.lines[-1].strip(" >") else self.lines[-1] + words


def html_to_text(html: str) -> str:
    parser = _TextFromHTML()
    with contextlib.suppress(Exception):  # what was read so far is the best there is
        parser.feed(html)
        parser.close()
    text = "\n".join(line.strip() for line in parser.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
