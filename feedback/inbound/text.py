"""What the person typed, out of a body of text or HTML that anyone may have shaped to be slow or huge.

Every step is linear in what it reads and reads a bounded amount: no regular expression here runs over more
than one short line, blank runs are folded before mail-parser-reply sees the text (its patterns backtrack over
whitespace), the lines it sees are short (a long line goes in as a placeholder and comes back unchanged) and
there are few of them, and HTML stops being read once its text is long enough. So a parse is bounded by its
construction, not by a timer.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

from mailparser_reply.parser import EmailMessage as ReplyText

#: The languages whose quote headers and signatures are recognised (those Farewell writes its emails in).
LANGUAGES = ["en", "de", "fr"]
#: At most this much text is kept of one reply.
MAX_TEXT = 20_000
#: At most this much of a body is read for the reply in it: what is kept, and room for the quoted history after it.
MAX_READ = 3 * MAX_TEXT
#: Lines longer than this are neither a marker, a quote header nor a signature; mail-parser-reply never sees them.
MAX_SPECIAL_LINE = 200
#: Quoted HTML shows at most this many '>' however deep it nests.
MAX_QUOTE_DEPTH = 5
#: HTML is read in pieces this large, so that reading stops soon after its text reaches MAX_READ.
HTML_CHUNK = 16 * 1024

_QUOTE_PREFIX = re.compile(r"[>\s]*")  # greedy with nothing after it: never backtracks
#: The phones' own last lines that the library knows in English only ("Sent from my iPhone"); one short line.
_MOBILE_SIGNATURE = re.compile(
    r"Von meinem \S+( \S+)? gesendet|Gesendet von meinem \S+.*|Envoyé de mon \S+.*|Envoyé depuis mon \S+.*",
    re.IGNORECASE,
)
#: "On … wrote:", "Am … schrieb …:", "Le … a écrit :": left over when the marker cut below it; one short line.
_ATTRIBUTION = re.compile(r".*(wrote|schrieb|a écrit) ?:?", re.IGNORECASE)
#: Stand-ins for long lines while the library reads: private-use characters no pattern of its matches.
_PLACEHOLDER = "\ue000{}\ue001"
_PLACEHOLDERS = re.compile("\ue000([0-9]+)\ue001")


def _is_marker(line: str) -> bool:
    """Farewell's marker at the top of its emails (`emails/_reply_marker.txt`), in any language: "##- … -##"."""
    if len(line) > MAX_SPECIAL_LINE:
        return False
    rest = line[_QUOTE_PREFIX.match(line).end() :].rstrip()  # type: ignore[union-attr]
    return len(rest) >= 6 and rest.startswith("##-") and rest.endswith("-##")


def _typed_lines(body: str) -> list[str]:
    """The lines above Farewell's marker, every run of blank ones made one, no more than MAX_READ characters of
    them: one pass that stops there, so a long body costs no more than a short one."""
    kept: list[str] = []
    size = 0
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if kept and kept[-1]:
                kept.append("")
                size += 1
            continue
        if "##-" in line and _is_marker(line):
            break
        kept.append(line)
        size += len(line) + 1
        if size >= MAX_READ:
            break
    return kept


def new_text(body: str) -> str:
    """What the sender typed: cut at Farewell's marker first, then quoted history and signature removed."""
    text = _without_history("\n".join(_typed_lines(body)))[:MAX_READ]
    text = _drop_last_line(text, _ATTRIBUTION)
    text = _drop_last_line(text, _MOBILE_SIGNATURE)
    return text.strip()[:MAX_TEXT]


def _without_history(text: str) -> str:
    """The newest part only, without its sign-off and signature (mail-parser-reply); a list typed with hyphens
    is kept. Long lines go in as placeholders, which keeps each of its patterns' work per line small."""
    long_lines: list[str] = []

    def stand_in(line: str) -> str:
        if len(line) <= MAX_SPECIAL_LINE:
            return line.replace("\ue000", "").replace("\ue001", "")
        long_lines.append(line)
        return _PLACEHOLDER.format(len(long_lines) - 1)

    short = "\n".join(stand_in(line) for line in text.split("\n"))
    with contextlib.suppress(Exception):  # the library failing on odd text: better the whole text than none
        short = ReplyText(text=short, languages=LANGUAGES, keep_hyphen_lists=True).read().replies[0].body
    return _PLACEHOLDERS.sub(lambda found: long_lines[int(found.group(1))].strip(), short)


def _drop_last_line(text: str, pattern: re.Pattern[str]) -> str:
    """The text without its last line when that line, short, is all `pattern` (and not the only line)."""
    stripped = text.rstrip()
    before, newline, last = stripped.rpartition("\n")
    if newline and len(last) < MAX_SPECIAL_LINE and pattern.fullmatch(last.strip()):
        return before.rstrip()
    return stripped


class _TextFromHTML(HTMLParser):
    """HTML as the plain text a reader sees: blocks on their own lines, quoted blocks marked with '>'.

    The line being written is a list of its words (joined once, when it ends), so a long line costs its length.
    """

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr", "pre"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.words: list[str] = []
        self.quote_depth = 0
        self.skipping = 0
        #: Characters written so far, the line being written included: reading stops past MAX_READ.
        self.size = 0

    def _break(self) -> None:
        """Ends the line; more than two empty lines in a row are one paragraph break all the same."""
        if self.words:
            self.lines.append(" ".join(self.words))
            self.words = []
        elif len(self.lines) < 2 or self.lines[-1] or self.lines[-2]:
            self.lines.append("")
        self.size += 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag == "blockquote":
            self.quote_depth += 1
            self._break()
        elif tag in self.BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
            self._break()
        elif tag in self.BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        words = " ".join(data.split())
        if not words:
            return
        if not self.words and self.quote_depth:
            self.words.append(" ".join(">" * min(self.quote_depth, MAX_QUOTE_DEPTH)))
        self.words.append(words)
        self.size += len(words) + 1

    @property
    def full(self) -> bool:
        return self.size >= MAX_READ

    def text(self) -> str:
        return "\n".join([*self.lines, " ".join(self.words)])


def html_to_text(html: str) -> str:
    """The text of an HTML body, at most MAX_READ characters of it: reading stops once that much is written."""
    parser = _TextFromHTML()
    with contextlib.suppress(Exception):  # what was read so far is the best there is
        for start in range(0, len(html), HTML_CHUNK):
            parser.feed(html[start : start + HTML_CHUNK])
            if parser.full:
                break
        else:
            parser.close()
    text = "\n".join(line.strip() for line in parser.text().split("\n"))[:MAX_READ]
    return re.sub(r"\n{3,}", "\n\n", text).strip()
