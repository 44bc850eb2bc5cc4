"""/admin/inbound: what arrived by email and matched nothing, or came from someone other than the customer.

An admin attaches each such message to a postmortem by hand, or discards it; a message that failed to process
can be tried again once the fault is fixed.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from feedback.auth.access import admin_required
from feedback.extensions import db
from feedback.inbound.models import STATUS_LABELS, InboundMessage
from feedback.inbound.operations import NotAttachable, attach_by_hand, discard, retry
from feedback.postmortem.models import Cancellation

blueprint = Blueprint("inbound", __name__, url_prefix="/admin/inbound")

PER_PAGE = 25
#: The list's views: what waits for an admin (the default), and everything.
WAITING = ("unmatched", "failed", "unreadable")
#: Offered in the attach form besides the probable one and the sender's own.
RECENT = 30


@blueprint.get("/")
@admin_required
def index() -> str:
    shown = request.args.get("show", "waiting")
    query = select(InboundMessage).order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
    if shown == "waiting":
        query = query.where(InboundMessage.status.in_(WAITING))
    elif shown in STATUS_LABELS:
        query = query.where(InboundMessage.status == shown)
    counts = dict(db.session.execute(select(InboundMessage.status, func.count()).group_by(InboundMessage.status)).all())
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "inbound/index.html",
        page=page,
        shown=shown,
        counts=counts,
        waiting=sum(counts.get(status, 0) for status in WAITING),
        labels=STATUS_LABELS,
    )


def _candidates(message: InboundMessage) -> list[Cancellation]:
    """The probable postmortem first, then the sender's own, then the most recent ones."""
    ordered = select(Cancellation).order_by(Cancellation.cancelled_at.desc(), Cancellation.id.desc())
    likely = ordered.where(
        or_(Cancellation.id == message.cancellation_id, func.lower(Cancellation.customer_email) == message.from_address)
    )
    found = list(db.session.scalars(likely.limit(RECENT)))
    found.sort(key=lambda c: c.id != message.cancellation_id)
    found += [c for c in db.session.scalars(ordered.limit(RECENT)) if c not in found]
    return found


@blueprint.get("/<int:inbound_id>")
@admin_required
def show(inbound_id: int) -> str:
    message = db.get_or_404(InboundMessage, inbound_id)
    return render_template("inbound/show.html", message=message, candidates=_candidates(message))


def _refused(inbound_id: int, refusal: Exception) -> Response:
    db.session.rollback()
    flash(str(refusal), "error")
    return redirect(url_for("inbound.show", inbound_id=inbound_id))


@blueprint.post("/<int:inbound_id>/attach")
@admin_required
def attach(inbound_id: int) -> Response:
    message = db.get_or_404(InboundMessage, inbound_id)
    chosen = request.form.get("cancellation_id", "")
    cancellation = db.session.get(Cancellation, int(chosen)) if chosen.isascii() and chosen.isdigit() else None
    if cancellation is None:
        return _refused(inbound_id, NotAttachable("Choose the postmortem this message belongs to."))
    try:
        attach_by_hand(message, cancellation, current_user.id)
    except NotAttachable as refusal:
        return _refused(inbound_id, refusal)
    db.session.commit()
    flash(f"Attached to {cancellation.display_name}'s postmortem; forwarded to {cancellation.owner.name}.", "success")
    return redirect(url_for("inbound.index"))


def _change(inbound_id: int, change: Callable[[InboundMessage], None], done: str, then: str) -> Response:
    """Applies `change` to the message and commits, or rolls back and says why it was refused."""
    message = db.get_or_404(InboundMessage, inbound_id)
    try:
        change(message)
    except NotAttachable as refusal:
        return _refused(inbound_id, refusal)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(then, inbound_id=inbound_id) if then == "inbound.show" else url_for(then))


@blueprint.post("/<int:inbound_id>/discard")
@admin_required
def discard_message(inbound_id: int) -> Response:
    return _change(
        inbound_id, discard, "Discarded: it stays in the list under Discarded, attached to nothing.", "inbound.index"
    )


@blueprint.post("/<int:inbound_id>/retry")
@admin_required
def retry_message(inbound_id: int) -> Response:
    return _change(inbound_id, retry, "It goes back to be processed on the inbound job's next pass.", "inbound.show")
