from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.routing import IntegerConverter, Map

#: The largest id a row can have: every id column is an INTEGER, 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1


def digits_up_to(limit: int) -> str:
    """A regular expression for the numbers 0 to `limit`, unsigned: every shorter number, then for each digit of
    `limit` the numbers that share its digits before it and have a smaller one there (2147483647 gives
    `\\d{1,9}|1\\d{9}|20\\d{8}|21[0-3]\\d{7}|…|2147483647`)."""
    written = str(limit)
    choices = [rf"\d{{1,{len(written) - 1}}}"] if len(written) > 1 else []
    for position, digit in enumerate(map(int, written)):
        lowest = 1 if position == 0 and len(written) > 1 else 0  # a longest number does not start with 0
        if digit > lowest:
            rest = len(written) - position - 1
            choices.append(f"{written[:position]}[{lowest}-{digit - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    choices.append(written)
    return "(?:" + "|".join(choices) + ")"


class RowId(IntegerConverter):
    """`<int:…>` in every route: a number no row's id can be (past the database's INTEGER) matches no route.

    So /cancellations/2147483648 is a 404 like any other missing row, instead of reaching PostgreSQL, which
    refuses to compare an INTEGER column with it ("integer out of range", a 500). Refused by the pattern itself,
    not only on conversion: Werkzeug weighs a route's methods before converting, so /api/v1/action-items/<id> would
    answer a PATCH with an id too large 405 (its GET twin matched), where 404 is the truth.
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        own = len(args) > 0 or bool(kwargs)  # a rule's own `<int(max=…):…>` keeps its own rules
        if len(args) < 3:
            kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
        if not own:
            self.regex = ID_PATTERN


#: What `RowId` takes: 0 to MAX_ID, as digits.
ID_PATTERN = digits_up_to(MAX_ID)


def init_app(app: Flask) -> None:
    """Before any blueprint: a rule takes its converters when it is added."""
    app.url_map.converters["int"] = RowId


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link under BASE_URL, for emails; works in the worker and the CLI, where there is no request."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
