"""The local mailbox: with no SMTP server configured in development, sent mail is read here.

Admins read all of it (every link Farewell sends, staff invitations among them); every other staff member only the
mail addressed to them.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select

from feedback.extensions import db
from feedback.mail.models import OutboxMessage

blueprint = Blueprint("mailbox", __name__, url_prefix="/dev/mail")


@blueprint.before_request
def only_without_smtp() -> None:
    if current_app.config["MAIL_BACKEND"] != "local":
        abort(404)


def _readable() -> Select:
    """Admins read all the mail kept here; every other staff member their own (the review request the walk-through
    sends an owner to), so that trying Farewell as an owner needs no admin beside them."""
    query = select(OutboxMessage)
    if not current_user.is_admin:
        query = query.where(func.lower(OutboxMessage.recipient) == current_user.email.lower())
    return query


@blueprint.get("/")
@login_required
def index() -> str:
    messages = db.paginate(_readable().order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()), per_page=50)
    return render_template("mail/index.html", page=messages)


@blueprint.get("/<int:message_id>")
@login_required
def show(message_id: int) -> str:
    message = db.get_or_404(OutboxMessage, message_id)
    if db.session.scalar(_readable().where(OutboxMessage.id == message_id)) is None:
        abort(403)  # a colleague's mail
    return render_template("mail/show.html", message=message)
