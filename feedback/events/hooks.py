"""What events learn from features, registered at start-up: who the admins are, to tell them of a disabled endpoint."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

_HOOKS = "farewell.events"

#: [(email, name)] of every active admin.
Admins = Callable[[], list[tuple[str, str]]]


def admins_from(app: Flask, admins: Admins) -> None:
    app.extensions[_HOOKS] = admins


def admins() -> list[tuple[str, str]]:
    found = current_app.extensions.get(_HOOKS)
    return found() if found is not None else []
