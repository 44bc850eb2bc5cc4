"""What a help desk sends is untrusted: HTML becomes plain text (escaped later like any text), cut to size."""

from __future__ import annotations

from html.parser import HTMLParser

from feedback.helpdesk.models import OPENING_LIMIT

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
_DROPPED = {"script", "style", "head", "title", "template"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The words of an HTML message, one paragraph a line; scripts and styles dropped, entities decoded."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return tidy("".join(parser.parts))


def tidy(text: str) -> str:
    """Runs of spaces become one, blank lines at most one in a row, control characters gone."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = "".join(ch for ch in line if ch == "\t" or ch >= " ")
        lines.append(" ".join(line.split()))
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def single_line(value: object, limit: int) -> str:
    """A subject, status or tag: one line of text, at most `limit` characters."""
    return cut(" ".join(tidy(str(value or "")).split()), limit)


def cut(text: str, limit: int = OPENING_LIMIT) -> str:
    """At most `limit` characters, ending with … when something was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
