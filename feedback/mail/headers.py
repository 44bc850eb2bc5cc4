"""Header values come from user data (names, companies, subjects): they must never write headers of their own."""

from __future__ import annotations

import re


def header_safe(value: str) -> str:
    """A CR or LF in a header value would let it write headers of its own: fold every line into one."""
    return " ".join(part.strip() for part in re.split(r"[\r\n]+", value) if part.strip())


def header_address(value: str) -> str:
    """An address with a line break in it is an injection attempt, not a typo: refuse it rather than guess."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"refusing an email address with a line break in it: {value!r}")
    return value.strip()
