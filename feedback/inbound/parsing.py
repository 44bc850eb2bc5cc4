"""Reading a raw message: who sent it, what it answers, whether a machine wrote it, and what the person typed.

Nothing here trusts the message: every header is read defensively (a malformed one reads as empty), attachments
are listed by name and never opened, and the text is cut to what the sender wrote above the quoted history.
"""

from __future__ import annotations

import codecs
import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from feedback.inbound.dsn import DeliveryReport, delivery_report
from feedback.inbound.text import MAX_TEXT, html_to_text, new_text

__all__ = ["MAX_TEXT", "MessageUnreadable", "ParsedMessage", "message_key", "no_nul", "parse"]

_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
#: A subject machines use for an answer no person wrote.
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic|matische|matique)?[ -]?(reply|response|antwort|réponse)|out of (the )?office|autoreply"
    r"|auto:|abwesen|réponse automatique|absence|absent|vacation|urlaub|congés|respuesta automática"
    r"|fuera de la oficina|risposta automatica|fuori (dall')?ufficio|automatisch antwoord|afwezig)",
    re.IGNORECASE,
)
#: The opening words of an out-of-office note that carries none of RFC 3834's headers (nor a telling subject), in
#: the languages customers write in. Matched against the start of the text only, one word after another: no
#: pattern here can backtrack over untrusted text.
_AUTO_OPENING = re.compile(
    r"(?:i am|i'm|i will be) (?:currently |now )?(?:out of (?:the )?office|away from (?:the|my) (?:office|desk)"
    r"|on (?:annual |parental )?leave|on vacation|on holiday)"
    r"|this is an automatic reply|automatic reply:|thank you for your (?:e-?mail|message)\. i am (?:out|away)"
    r"|ich bin (?:bis|vom|ab|derzeit|zurzeit|momentan)\b[^!?]{0,80}?(?:nicht im büro|abwesend|im urlaub|außer haus)"
    r"|ich bin (?:nicht im büro|abwesend|im urlaub)|abwesenheitsnotiz|automatische antwort"
    r"|je suis (?:actuellement )?(?:absente?|en congés?|en vacances|hors du bureau)|réponse automatique"
    r"|estoy (?:fuera de la oficina|de vacaciones|ausente)|respuesta automática"
    r"|sono (?:fuori (?:dall')?ufficio|in ferie|assente)|risposta automatica"
    r"|ik ben (?:afwezig|met vakantie|niet op kantoor)|automatisch antwoord",
)
#: How much of the text's start an out-of-office note is looked for in.
AUTO_OPENING_CHARS = 300
#: A message with more Content-Type headers than this is not read: Python's parser recurses once per nested part,
#: and about a thousand levels overflow its stack. Nesting needs a Content-Type header per level (a digest's
#: parts, two levels per header), so counting the headers bounds the depth whatever their values say; 200 nest
#: safely, and real mail has a handful.
MAX_DECLARED_PARTS = 200
#: At most this many parts are looked at for the text and the attachments' names.
MAX_PARTS = 500
_CONTENT_TYPE = re.compile(rb"^content-type[ \t]*:", re.IGNORECASE | re.MULTILINE)
#: Codecs Python has that no mail system means as a charset, and that raise on ordinary bytes.
_NOT_CHARSETS = {"idna", "punycode"}


class MessageUnreadable(ValueError):
    """The message is shaped so that reading it would take unbounded time or stack; the reason says how."""


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
    #: Every Authentication-Results header, top first, and every DKIM-Signature (feedback.inbound.verdict).
    authentication_results: list[str] = field(default_factory=list)
    dkim_signatures: list[str] = field(default_factory=list)


def no_nul(text: str) -> str:
    """Text as a database can hold it: PostgreSQL refuses a NUL character in any text column."""
    return text.replace("\x00", "")


def message_key(raw: bytes) -> str:
    """What makes a message unique: its Message-ID, else (none, or an absurd one) a hash of its bytes.

    Only the headers are read, so this holds for any message at all, however its body is shaped."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    match = _MESSAGE_ID.search(_header(headers, "Message-ID"))
    return match.group(1) if match else "sha256:" + hashlib.sha256(raw).hexdigest()


def _parse(raw: bytes) -> EmailMessage:
    """The whole message, once it is known not to nest too deep; MessageUnreadable when it does."""
    declared = sum(1 for _ in zip(range(MAX_DECLARED_PARTS + 1), _CONTENT_TYPE.finditer(raw), strict=False))
    if declared > MAX_DECLARED_PARTS:
        raise MessageUnreadable(
            f"It has more than {MAX_DECLARED_PARTS} parts (Content-Type headers), more than any reply has; "
            "it is kept as it came, unread."
        )
    try:
        return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]
    except RecursionError:  # the count above should make this impossible; this is the last resort
        raise MessageUnreadable("Its parts nest too deep to read; it is kept as it came, unread.") from None


def _header(message: Message, name: str) -> str:
    """A header as text, or "" when it is missing or too broken to read."""
    try:
        value = message.get(name)
        return no_nul(str(value)).strip() if value is not None else ""
    except Exception:  # noqa: BLE001 - a header the parser can't read is simply not there
        return ""


def _headers(message: Message, name: str) -> list[str]:
    try:
        return [no_nul(str(value)) for value in message.get_all(name) or []]
    except Exception:  # noqa: BLE001
        return []


def parse(raw: bytes) -> ParsedMessage:
    """Everything Farewell needs of a message. Raises MessageUnreadable for one that cannot be read in bounds."""
    try:
        return _read(_parse(raw), raw)
    except RecursionError:
        raise MessageUnreadable("Its parts nest too deep to read; it is kept as it came, unread.") from None


def _read(message: EmailMessage, raw: bytes) -> ParsedMessage:
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
    parsed.authentication_results = _headers(message, "Authentication-Results")[:20]
    parsed.dkim_signatures = [" ".join(value.split()) for value in _headers(message, "DKIM-Signature")[:10]]
    parsed.report = delivery_report(message)
    body, parsed.attachments = _body(message)
    parsed.text = no_nul(new_text(no_nul(body)))
    parsed.auto_reply = "" if parsed.report else auto_reply_reason(message, parsed)
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
    opening = " ".join(parsed.text[:AUTO_OPENING_CHARS].split()).lower().replace("’", "'")
    if _AUTO_OPENING.search(opening):
        return "an out-of-office note's opening words"
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
                attachments.append(filename or no_nul(content_type))
            continue
        if content_type == "text/plain" and plain is None:
            plain = _text_of(part)
        elif content_type == "text/html" and html is None:
            html = _text_of(part)
    if plain is not None and plain.strip():
        return plain, attachments
    return (html_to_text(html) if html else ""), attachments


def _leaves(message: Message) -> list[Message]:
    """The parts that are not containers, in order, at most MAX_PARTS of them; an attached message counts as one
    attachment, never opened. A walk with its own stack, so no shape of message can make it recurse."""
    leaves: list[Message] = []
    waiting = [message]
    while waiting and len(leaves) < MAX_PARTS:
        part = waiting.pop()
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            waiting.extend(reversed(part.get_payload()))  # type: ignore[arg-type]
        else:
            leaves.append(part)
    return leaves


def _filename(part: Message) -> str:
    try:
        return no_nul(part.get_filename() or "")[:200]
    except Exception:  # noqa: BLE001
        return "attachment"


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decoded(payload, part.get_content_charset() or "utf-8")


def decoded(payload: bytes, charset: str) -> str:
    """The bytes as text in their charset; in UTF-8 (what cannot be read replaced) when the charset is unknown,
    not a text encoding, one of the codecs no mail means (idna, punycode), or raises on these bytes."""
    try:
        if codecs.lookup(charset).name not in _NOT_CHARSETS:
            return payload.decode(charset, errors="replace")
    except (LookupError, ValueError):  # UnicodeError is a ValueError
        pass
    return payload.decode("utf-8", errors="replace")
