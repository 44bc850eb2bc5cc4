"""The owner's review of a held reply, on the postmortem: attach it as the customer's, or discard it.

A reply is held when it came by the customer's reply address and From:, but the receiving server's verdict does
not vouch for that From: (feedback.inbound.verdict). The owner knows the customer; the owner decides.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from feedback.extensions import db
from feedback.inbound.models import InboundMessage
from feedback.inbound.operations import NotAttachable, review_held
from feedback.postmortem.access import may_review
from feedback.postmortem.models import Cancellation

blueprint = Blueprint("held_replies", __name__, url_prefix="/cancellations")


def _review(cancellation_id: int, inbound_id: int, keep: bool) -> Response:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_review(current_user, cancellation):
        abort(403, "Only the account owner (or an admin) can review the replies held for this postmortem.")
    message = db.get_or_404(InboundMessage, inbound_id)
    back = url_for("cancellations.detail", cancellation_id=cancellation.id, _anchor="held")
    try:
        review_held(message, cancellation, current_user.id, keep)
    except NotAttachable as refusal:
        db.session.rollback()
        flash(str(refusal), "error")
        return redirect(back)
    db.session.commit()
    if keep:
        flash("Attached: it counts as the customer's answer.", "success")
    else:
        flash("Discarded: it is not the customer's answer.", "success")
    return redirect(back)


@blueprint.post("/<int:cancellation_id>/held/<int:inbound_id>/attach")
@login_required
def attach(cancellation_id: int, inbound_id: int) -> Response:
    return _review(cancellation_id, inbound_id, keep=True)


@blueprint.post("/<int:cancellation_id>/held/<int:inbound_id>/discard")
@login_required
def discard(cancellation_id: int, inbound_id: int) -> Response:
    return _review(cancellation_id, inbound_id, keep=False)
