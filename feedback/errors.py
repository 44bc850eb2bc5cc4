"""Kind pages instead of stack traces for people, RFC 9457 problem+json for machines (the API and webhooks).

{"type": "about:blank", "title": "...", "status": 422, "detail": "...",
 "errors": [{"field": "customer.email", "message": "..."}]}
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, json, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from feedback.i18n import DEFAULT_LOCALE

PROBLEM_TYPE = "application/problem+json"
MACHINE_PATHS = ("/api/", "/webhooks/")

TITLES = {
    400: _l("That request didn't make sense to us"),
    403: _l("This page isn't yours to see"),
    404: _l("We couldn't find that page"),
    405: _l("That doesn't work here"),
    409: _l("That was already done"),
    410: _l("This link has expired"),
    413: _l("That was too much to take in"),
    429: _l("Slow down a little"),
    500: _l("Something went wrong on our side"),
}

SERVER_ERROR = _l("We have logged the problem. Please try again in a moment.")

#: Said instead of Werkzeug's stock text ("The requested URL was not found on the server…") when a view gave none.
OWN_WORDS = {
    400: "Something in that request was missing or malformed. Go back and try again.",
    403: "You are logged in, but this page is for someone else. An admin can change who sees what.",
    404: "The address may be mistyped, or what it showed has been removed. Everything else is where you left it.",
    405: "That page can't be used that way. Go back and use its buttons.",
    413: "That was larger than Farewell accepts. Try a smaller file.",
}


class Problem(HTTPException):
    """Raised anywhere in the API; rendered by `problem_response`."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        members: dict[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.code = status
        self.errors = errors or {}
        self.extra_headers = headers or {}
        #: RFC 9457 extension members, e.g. the scope a 403 lacked.
        self.members = members or {}


def wants_problem() -> bool:
    return request.path.startswith(MACHINE_PATHS)


def problem_response(error: HTTPException) -> Response:
    status = error.code or 500
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, error.name) if status != 422 else "The request has invalid fields",
        "status": status,
        "detail": error.description if status != 500 else "Something went wrong on our side; it has been logged.",
    }
    body.update(getattr(error, "members", {}))
    errors = getattr(error, "errors", None)
    if errors:
        body["errors"] = [{"field": field, "message": message} for field, message in errors.items()]
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    response.headers.update(getattr(error, "extra_headers", {}))
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def limit_body() -> None:
    """A machine's body larger than API_MAX_BODY_BYTES is a 413 before anything reads it."""
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | Response:
        if wants_problem():  # machines get RFC 9457 problem+json, people get a page
            return problem_response(error)
        code = error.code or 500
        title = str(TITLES.get(code, error.name))  # str: a lazy string would skip Jinja's escaping
        # Flask hands unhandled exceptions here as a 500 (outside testing): say nothing of their insides.
        description = str(SERVER_ERROR) if code == 500 else error.description
        if description == type(error).description:
            description = OWN_WORDS.get(code, description)
        if code != 500 and str(get_locale()) != DEFAULT_LOCALE:
            description = None  # werkzeug's and our views' descriptions are in English only; the title says enough
        return render_template("errors/error.html", code=code, title=title, description=description), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        description = str(_l("The form had expired or came from elsewhere. Go back, reload the page and try again."))
        return render_template("errors/error.html", code=400, title=str(TITLES[400]), description=description), 400
