"""RFC 9457 problem details: every API and webhook error, in one shape.

{"type": "about:blank", "title": "...", "status": 422, "detail": "...",
 "errors": [{"field": "customer.email", "message": "..."}]}
"""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
MACHINE_PATHS = ("/api/", "/webhooks/")


class Problem(HTTPException):
    """Raised anywhere in the API; rendered by `problem_response`."""

    def __init__(
        self, status: int, detail: str, errors: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.code = status
        self.errors = errors or {}
        self.extra_headers = headers or {}


def wants_problem() -> bool:
    return request.path.startswith(MACHINE_PATHS)


def problem_response(error: HTTPException) -> Response:
    from feedback.errors import TITLES

    status = error.code or 500
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, error.name) if status != 422 else "The request has invalid fields",
        "status": status,
        "detail": error.description if status != 500 else "Something went wrong on our side; it has been logged.",
    }
    errors = getattr(error, "errors", None)
    if errors:
        body["errors"] = [{"field": field, "message": message} for field, message in errors.items()]
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    response.headers.update(getattr(error, "extra_headers", {}))
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
