"""Kind pages instead of stack traces, for customers and staff alike."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from feedback.api.problems import problem_response, wants_problem

TITLES = {
    400: "That request didn't make sense to us",
    403: "This page isn't yours to see",
    404: "We couldn't find that page",
    405: "That doesn't work here",
    409: "That was already done",
    410: "This link has expired",
    413: "That was too much to take in",
    429: "Slow down a little",
    500: "Something went wrong on our side",
}

SERVER_ERROR = "We have logged the problem. Please try again in a moment."


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | Response:
        if wants_problem():  # machines get RFC 9457 problem+json, people get a page
            return problem_response(error)
        code = error.code or 500
        title = TITLES.get(code, error.name)
        # Flask hands unhandled exceptions here as a 500 (outside testing): say nothing of their insides.
        description = SERVER_ERROR if code == 500 else error.description
        return render_template("errors/error.html", code=code, title=title, description=description), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        description = "The form had expired or came from elsewhere. Go back, reload the page and try again."
        return render_template("errors/error.html", code=400, title=TITLES[400], description=description), 400
