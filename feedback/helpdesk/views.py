"""The staff's one write here: Refresh from the help desk, which queues a fetch for the worker."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from feedback.extensions import db
from feedback.helpdesk.configured import configured
from feedback.helpdesk.operations import queue_fetch
from feedback.postmortem.access import may_review
from feedback.postmortem.models import Cancellation

blueprint = Blueprint("helpdesk", __name__, url_prefix="/cancellations")


@blueprint.post("/<int:cancellation_id>/helpdesk/refresh")
@login_required
def refresh(cancellation_id: int) -> Response:
    """Never calls the help desk in the request: the worker does, within one pass."""
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_review(current_user, cancellation):
        abort(403, "Only the account owner of this cancellation, or an admin, can refresh its help-desk history.")
    desk = configured()
    if desk is None:
        flash("No help desk is configured, so there is nothing to refresh. An admin can set one up.", "info")
    elif queue_fetch(cancellation) is None:
        flash("There is no address to look the customer up by.", "info")
    else:
        db.session.commit()
        flash(f"Asked {desk.label} again; the conversations appear here within a minute or so.", "success")
    return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id, _anchor="helpdesk"))
