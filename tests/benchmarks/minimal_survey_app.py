"""The floor for the survey benchmark: a minimal Flask + SQLAlchemy page of the survey's shape.

It checks a signed token (itsdangerous, with a max age, as Farewell does), loads one row by the id inside it,
and renders a form of the same shape as Farewell's default exit survey (the same seven questions, their help
and choices, fieldsets and radios) in a small layout with a stylesheet link. No settings, no translations, no
security headers, no request log: what any Flask app would need at the least. Served by gunicorn as
`minimal_survey_app:app` (see survey_page.py); MINIMAL_DATABASE_URL names the database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask, abort, render_template
from flask_sqlalchemy import SQLAlchemy
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import FileSystemLoader
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from feedback.questions.defaults import EXIT_SURVEY  # noqa: E402  (plain data: the same questions)

SALT = "minimal-survey"

db = SQLAlchemy()


class Link(db.Model):
    __tablename__ = "bench_minimal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(40))
    customer_name: Mapped[str] = mapped_column(String(200))
    owner_name: Mapped[str] = mapped_column(String(200))


def create(database_url: str, secret: str) -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=secret)
    app.jinja_loader = FileSystemLoader(Path(__file__).parent)  # minimal_survey.html beside this file
    db.init_app(app)
    serializer = URLSafeTimedSerializer(secret, salt=SALT)
    questions = [{**q, "choices": q.get("choices") or [], "help": q.get("help") or ""} for q in EXIT_SURVEY]

    @app.get("/s/<token>")
    def survey(token: str) -> str:
        try:
            link_id, nonce = serializer.loads(token, max_age=30 * 86400)
        except (BadSignature, ValueError, TypeError):
            abort(404)
        link = db.session.get(Link, link_id)
        if link is None or link.nonce != nonce:
            abort(404)
        return render_template("minimal_survey.html", link=link, questions=questions)

    return app


def sign(secret: str, link_id: int, nonce: str) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps([link_id, nonce])


if os.environ.get("MINIMAL_DATABASE_URL"):
    app = create(os.environ["MINIMAL_DATABASE_URL"], os.environ["MINIMAL_SECRET_KEY"])
