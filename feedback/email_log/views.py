"""The email log: every message Farewell queued, its state and errors, a preview as sent, resend for failures."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from feedback import audit
from feedback.auth.access import admin_required
from feedback.db import utcnow
from feedback.extensions import db
from feedback.formatting import plural
from feedback.mail.models import STATUSES, OutboxMessage, Suppression
from feedback.mail.outbox import CannotResend, resend, resend_failed
from feedback.mail.rendering import as_sent

blueprint = Blueprint("email_log", __name__, url_prefix="/admin/email")

PER_PAGE = 50
#: The headers worth showing in the preview, in the order a mail app shows them.
SHOWN_HEADERS = (
    "From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
)  # fmt: skip


@blueprint.get("/")
@admin_required
def index() -> str:
    state = request.args.get("state", "")
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if state in STATUSES:
        query = query.where(OutboxMessage.status == state)
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    suppressed = db.session.scalar(select(func.count()).select_from(Suppression))
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "email_log/index.html", page=page, state=state, states=STATUSES, counts=counts, suppressed=suppressed
    )


@blueprint.get("/<int:message_id>")
@admin_required
def show(message_id: int) -> str:
    message = db.get_or_404(OutboxMessage, message_id)
    sent = message_from_bytes(as_sent(message, message.sent_at or utcnow()), policy=default_policy)
    headers = [(name, str(sent[name]).strip()) for name in SHOWN_HEADERS if sent[name] is not None]
    return render_template("email_log/show.html", message=message, headers=headers)


@blueprint.post("/<int:message_id>/resend")
@admin_required
def resend_message(message_id: int) -> Response:
    message = db.get_or_404(OutboxMessage, message_id)
    try:
        resend(message)
    except CannotResend as refused:
        flash(str(refused), "error")
    else:
        audit.record("email.resend", message, f"Queued {message.kind.replace('_', ' ')} again.")
        db.session.commit()
        flash(f"Queued again for {message.recipient}; the worker sends it on its next pass.", "success")
    return redirect(url_for("email_log.show", message_id=message_id))


@blueprint.post("/resend-failed")
@admin_required
def resend_all_failed() -> Response:
    resent, kept = resend_failed()
    if resent:
        audit.record(
            "email.resend_failed",
            ("outbox", "failed"),
            f"Queued {plural(resent, 'failed message', 'failed messages')} again.",
        )
    db.session.commit()
    message = (
        f"{resent} failed message{'s' if resent != 1 else ''} queued again; the worker sends them on its next pass."
    )
    if kept:
        message += f" {kept} not resent: their recipients opted out since."
    flash(message, "success" if resent else "info")
    return redirect(url_for("email_log.index", state="failed"))


@blueprint.get("/suppressed")
@admin_required
def suppressed() -> str:
    query = select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
    return render_template("email_log/suppressed.html", page=db.paginate(query, per_page=PER_PAGE, error_out=False))
