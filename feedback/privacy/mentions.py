"""Finding every row that names a person in a declared personal column, whether or not a key links it to them.

Action item titles, notes, outbox bodies, forwards and failed messages name a person without pointing at her
record; only searching the columns `personal_data` declares for her identifiers (her address, her name, her
company, her external id) finds them. Binary columns are searched decoded, MIME part by MIME part, where the
row's text columns may say nothing (a message whose processing failed, an upload never checked).
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import JSON, LargeBinary, String, cast, func, or_, select
from sqlalchemy.orm import undefer

from feedback.db import Model, models_with_personal_data, personal_columns
from feedback.extensions import db
from feedback.imports.models import ImportRun
from feedback.inbound.models import CustomerReply, InboundMessage

#: Tables whose binary column is read in full and decoded: their text columns may be empty while it names her.
#: (An outbox message's MIME is made from its body columns, which are searched instead.)
DECODED = (InboundMessage, ImportRun)
#: Received mail belongs to the postmortem it was matched to, not to whoever its unauthenticated From: names.
MATCHED_MAIL = (InboundMessage, CustomerReply)
#: Nested parts read before giving up on the structure (the raw text is still searched).
MAX_PARTS = 200


def rows_naming(identifiers: list[str], theirs: set[int], models: tuple[type[Model], ...] = ()) -> Iterator[Model]:
    """Each row, once, whose personal columns hold one of the identifiers; received mail matched to a postmortem
    that is not one of `theirs` (their cancellations' ids) is that postmortem's, and left out. `models` narrows
    the search to those tables."""
    if not identifiers:
        return
    for model in models_with_personal_data():
        if models and model not in models:
            continue
        found: dict[Any, Model] = {}
        columns = personal_columns(model)
        conditions = [
            _contains(column, word)
            for column in columns
            if not isinstance(column.type, LargeBinary)
            for word in _spellings(identifiers, column)
        ]
        if conditions:
            for row in db.session.scalars(select(model).where(or_(*conditions))):
                found[db.inspect(row).identity] = row
        if model in DECODED:
            for row in db.session.scalars(select(model).options(undefer("*")).execution_options(yield_per=100)):
                key = db.inspect(row).identity
                if key not in found and any(_names(readable(getattr(row, c.key)), identifiers) for c in columns):
                    found[key] = row
        for row in found.values():
            if isinstance(row, MATCHED_MAIL) and row.cancellation_id is not None and row.cancellation_id not in theirs:
                continue
            yield row


def readable(value: Any) -> str:
    """A column's value as text to search: binary decoded (and, when it is a message, every part decoded)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes | memoryview):
        return json.dumps(value, ensure_ascii=False)
    raw = bytes(value)
    texts = [raw.decode("utf-8", "replace")]
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for number, part in enumerate(message.walk()):
            if number >= MAX_PARTS:
                break
            texts += [str(part.get(header, "")) for header in ("From", "To", "Cc", "Subject")]
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    except (RecursionError, LookupError, ValueError, TypeError, AttributeError):
        pass  # a message that cannot be parsed is still searched as it came
    return "\n".join(texts)


def _names(text: str, identifiers: list[str]) -> bool:
    lowered = text.lower()
    return any(word.lower() in lowered for word in identifiers)


def _spellings(identifiers: list[str], column: Any) -> list[str]:
    """JSON keeps non-ASCII letters escaped (`\\u00e9`), so a JSON column is searched for that spelling too."""
    if not isinstance(column.type, JSON):
        return identifiers
    return sorted({*identifiers, *(json.dumps(word)[1:-1] for word in identifiers)})


def _contains(column: Any, word: str) -> Any:
    text = cast(column, String) if isinstance(column.type, JSON) else column
    return func.lower(text).contains(word.lower(), autoescape=True)
