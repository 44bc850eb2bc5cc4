"""Who may open a staff page: one decorator per rule, so every view states its rule in one line."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

F = TypeVar("F", bound=Callable[..., Any])


def admin_required(view: F) -> F:
    """Logged-out visitors go to the login page; logged-in staff who are not admins get a 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403, "Only admins can open this page.")
        return view(*args, **kwargs)

    return login_required(wrapped)  # type: ignore[return-value]
