"""The one filter every text passes on its way in: web forms, the CLI, the API, both webhooks, CSV files.

Control characters have no business in a name or a sentence, and they do harm downstream: PostgreSQL refuses a
NUL in any text column (a 500 wherever it arrives), and in an email header VT, FF, FS/GS/RS, NEL or U+2028 are
line breaks to Python's folding, so a company name could write headers, or the body, of the owner's email.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 controls (NUL, TAB, LF, VT, FF, CR, FS, GS, RS…), DEL, C1 controls (NEL…), and Unicode's line and
#: paragraph separators.
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: What a multi-line text drops: the same, except the line feed and the tab it may keep.
DROPPED_FROM_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029]")

ONE_LINE = "Must be a single line, without control characters (line breaks, tabs, NUL…)."


def single_line(value: str, message: str = ONE_LINE) -> str:
    """A value meant for one line (a name, a company, an address): any control character is refused, not guessed at."""
    if CONTROLS.search(value):
        raise ValueError(message)
    return value


def multi_line(value: str) -> str:
    """A free text (a reason, a comment, an answer): line breaks become \\n, other control characters are dropped."""
    return DROPPED_FROM_TEXT.sub("", LINE_BREAKS.sub("\n", value))


def flattened(value: str) -> str:
    """One line made of anything: each run of control characters and spaces becomes a single space.

    For what must be shown or sent on one line but was never typed into a field that could refuse it (a value
    stored before this filter existed, a short survey answer, a header).
    """
    return " ".join(CONTROLS.sub(" ", value).split())


class OneLine:
    """The WTForms filter of a single-line field; its error is shown beside the field."""

    def __init__(self, message: str = ONE_LINE):
        self.message = message

    def __call__(self, value: Any) -> Any:
        return single_line(value, self.message) if isinstance(value, str) else value


def multi_line_filter(value: Any) -> Any:
    """The WTForms filter of a multi-line field."""
    return multi_line(value) if isinstance(value, str) else value


def flattened_filter(value: Any) -> Any:
    """The WTForms filter of a one-line field that takes what it is given, made one line (a short survey answer)."""
    return flattened(value) if isinstance(value, str) else value
