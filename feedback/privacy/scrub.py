"""Removing a person's identifying words from text that stays: timelines, reviews, subjects, audit rows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from feedback.mail.suppression import address_hash

__all__ = ["ERASED", "FREE_TEXT_TYPES", "Scrubber", "address_hash"]

#: What stands where a name, an address or a company was.
ERASED = "[erased]"
#: Questions whose answers are the person's own words; the other types are choices, kept as facts.
FREE_TEXT_TYPES = ("short_text", "long_text")


class Scrubber:
    """Knows one person's identifying words and blanks them out of any text, case-insensitively."""

    def __init__(self, words: Iterable[str]):
        found: set[str] = set()
        #: The whole words given (an address, a full name, a company): what finds the rows that name the person.
        #: Their parts ("Erin", "GmbH") are blanked in those rows but find nothing: they name many people.
        self.identifiers: list[str] = []
        for word in words:
            word = (word or "").strip()
            if len(word) < 3:
                continue
            found.add(word)
            if word.lower() not in (known.lower() for known in self.identifiers):
                self.identifiers.append(word)
            if "@" in word:
                local = word.split("@", 1)[0]
                if len(local) >= 3:
                    found.add(local)
            else:
                found.update(part for part in re.split(r"[\s,]+", word) if len(part) >= 3)
        # Longest first, so that "Casey Customer" goes whole before "Casey" would leave "[erased] Customer".
        ordered = sorted(found, key=len, reverse=True)
        self.words = ordered
        self._pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in ordered), re.IGNORECASE) if ordered else None
        )

    def text(self, value: str | None) -> str:
        if not value or self._pattern is None:
            return value or ""
        return self._pattern.sub(ERASED, value)

    def found_in(self, value: str | None) -> bool:
        return bool(value and self._pattern is not None and self._pattern.search(value))

    def json(self, value: Any) -> Any:
        """The same document with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        return value
