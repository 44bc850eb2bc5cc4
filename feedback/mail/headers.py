"""Header values come from user data (names, companies, subjects): they must never write headers of their own."""

from __future__ import annotations

from email.charset import Charset
from email.header import Header
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.policy import SMTP
from typing import Any

from feedback.inputs.text import CONTROLS, flattened

#: RFC 5322's recommended line length; a header folds at its whitespace to stay within it where it can.
LINE_LENGTH = 78
#: The outbox's columns: a subject of 300 characters, a recipient's name of 200.
SUBJECT_LENGTH = 300
NAME_LENGTH = 200
#: What a subject holds of one thing typed by someone (a name, a company): 200 + 200 characters would not fit.
SUBJECT_PART = 100
UTF8 = Charset("utf-8")


def header_safe(value: str) -> str:
    """One line, whatever it holds: every run of whitespace or control characters (CR, LF, VT, FF, FS/GS/RS, NEL,
    U+2028/2029…) becomes one space, as each of them is a line break to some reader of the message."""
    return flattened(value)


def header_address(value: str) -> str:
    """An address with a control character or a space in it is an injection attempt, not a typo: refuse it."""
    address = value.strip()
    if CONTROLS.search(address) or " " in address:
        raise ValueError(f"refusing an email address with a line break, space or control character in it: {value!r}")
    return address


def shortened(value: str, limit: int = SUBJECT_PART) -> str:
    """At most `limit` characters, an ellipsis marking the cut: for the parts of a subject (a name, a company)."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def as_written(value: str) -> bool:
    """Whether a header may carry the text as it is: ASCII, and nothing a mail app would decode.

    Text holding `=?` could be an RFC 2047 encoded word (`=?utf-8?b?SGkNCkJjYzog…?=`): written as it is, every
    mail app decodes it, CR/LF, a fake Bcc: line or a different name included. Such text is encoded itself, as
    text beyond ASCII is, so that what the reader sees is what was typed, character for character.
    """
    return value.isascii() and "=?" not in value


def mailbox(name: str, address: str) -> str:
    """`Name <address>` for To, From or Reply-To, the name quoted (or, beyond ASCII, encoded) whole.

    Built from `Address`, which refuses a malformed address and quotes a name holding `<`, `"`, `,` or `>`; sent
    verbatim, because Python's own folding of a long quoted name drops its quotes, and `"Spy" <spy@evil.test>, …`
    in a name of 90 characters would then become addresses of its own. A name that looks like an encoded word is
    encoded too: quotes would not do, as many mail apps (Python's own parser among them) decode encoded words
    inside quotes.
    """
    checked = Address(name, addr_spec=address)
    if as_written(name):
        return str(checked)
    # One encoded word for the whole name: between two, Python's parser (and others) keeps the space that RFC 2047
    # says to drop, and a name split mid-word would be read with a space inside it.
    return f"{UTF8.header_encode(name)} <{checked.addr_spec}>"


def subject(value: str) -> str:
    """The Subject as sent: beyond ASCII, or holding what could be an encoded word, encoded words of at most 75
    characters (Python's own folding fails on a long word that is not ASCII, such as a long name; an unstructured
    header's readers join them again); either way folded only at whitespace."""
    return value if as_written(value) else " ".join(Header(value, "utf-8").encode().split())


class VerbatimHeader(UnstructuredHeader):
    """A header that must reach the mail app as written: ASCII, folded only at its own whitespace, never turned
    into an RFC 2047 encoded word (List-Unsubscribe's `<https://…>` would no longer be a link), never refolded
    (an address's quoted name would lose its quotes)."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        if not value.isascii() or CONTROLS.search(value):
            raise ValueError(f"a verbatim header must be printable ASCII: {value!r}")
        super().parse(value, kwds)
        kwds["decoded"] = value  # as written: its encoded words (a name beyond ASCII) stay encoded

    def fold(self, *, policy: Any) -> str:
        """Between words where the line would pass 78 characters; a word longer than that stays whole on its line
        (RFC 5322 allows 998), the first one beside the header's name, where every reader looks for it."""
        words = str(self).split()
        lines = [f"{self.name}: {words[0]}" if words else f"{self.name}:"]
        for word in words[1:]:
            if len(lines[-1]) + 1 + len(word) > LINE_LENGTH:
                lines.append("")
            lines[-1] += f" {word}"
        return policy.linesep.join(lines) + policy.linesep


_registry = HeaderRegistry()
for _name in ("subject", "to", "from", "reply-to", "list-unsubscribe", "list-unsubscribe-post"):
    _registry.map_to_type(_name, VerbatimHeader)
#: How every message is written: SMTP's line endings, and the headers above kept verbatim.
POLICY = SMTP.clone(header_factory=_registry)
