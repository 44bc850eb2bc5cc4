"""The local mailbox: with no SMTP server configured in development, sent mail is read here.

Admins only: it holds every link Farewell sends, staff invitations to set a password among them.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from feedback.auth.access import admin_required
from feedback.extensions import db
from feedback.mail.models import OutboxMessage

blueprint = Blueprint("mailbox", __name__, url_prefix="/dev/mail")


@blueprint.before_request
def only_without_smtp() -> None:
    if current_app.config["MAIL_BACKEND"] != "local":
        abort(404)


@blueprint.get("/")
@admin_required
def index() -> str:
    messages = db.paginate(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()), per_page=50
    )
    return render_template("mail/index.html", page=messages)


@blueprint.get("/<int:message_id>")
@admin_required
def show(message_id: int) -> str:
    return render_template("mail/show.html", message=db.get_or_404(OutboxMessage, message_id))
