"""What an API token may do: each /api/v1 operation needs one scope, and a token holds the scopes it was given.

The names are a contract with the systems that hold tokens (docs/api-tokens.md): never rename one, only add.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

#: Every scope, with what it allows, in the order the admin page and `flask tokens create --help` list them.
SCOPES: dict[str, str] = {
    "cancellations:write": "Log cancellations (POST /api/v1/cancellations).",
    "cancellations:read": "List and read cancellations, with the customer's answers and the review.",
    "customers:read": "Read a customer record.",
    "customers:write": "Create and update customer records and their help-desk conversations.",
    "privacy:export": "Export everything held about a customer (a data subject's request).",
    "privacy:erase": "Erase a customer, as the admin page does (DELETE /api/v1/customers/{id}).",
    "insights:read": "Read the insights page's numbers.",
    "action_items:write": "List, read and update action items, as a ticket system does when it closes one.",
    "events:read": "Poll the outbound events (GET /api/v1/events).",
}

View = TypeVar("View", bound=Callable[..., Any])


def requires_scope(scope: str) -> Callable[[View], View]:
    """Marks a view as needing `scope`; the API's before_request reads the mark before the view runs."""
    if scope not in SCOPES:
        raise ValueError(f"Unknown API scope {scope!r}.")

    def mark(view: View) -> View:
        view.required_scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def required_scope(view: Callable[..., Any] | None) -> str | None:
    return getattr(view, "required_scope", None)


def unknown_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    return [scope for scope in scopes if scope not in SCOPES]
