from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from feedback.extensions import db
from feedback.postmortem.access import may_read_customer_words
from feedback.postmortem.models import Cancellation
from feedback.summaries.models import Summary
from feedback.summaries.operations import summary_context

PER_PAGE = 25

blueprint = Blueprint("summaries", __name__, url_prefix="/cancellations")


@blueprint.get("/<int:cancellation_id>/summary")
@login_required
def summary(cancellation_id: int) -> str:
    """Every staff member may read a sent summary, as that is how the team learns; before, only its owner and admins.

    The summary is the customer's words beside the owner's review, so it opens by the customers' words rule.
    """
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_read_customer_words(current_user, cancellation):
        abort(403, "This postmortem is still under way; its summary opens to all staff once it is sent.")
    return render_template("summaries/summary.html", **summary_context(cancellation))


@blueprint.get("/summaries")
@login_required
def index() -> str:
    """The team's summaries, newest first: an owner reads colleagues' lessons here, not only their own."""
    query = (
        select(Summary)
        .options(joinedload(Summary.cancellation).joinedload(Cancellation.owner))
        .order_by(Summary.created_at.desc(), Summary.id.desc())
    )
    if request.args.get("owner") == "me":
        query = query.where(Summary.cancellation.has(Cancellation.owner_id == current_user.id))
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template("summaries/index.html", page=page, mine=request.args.get("owner") == "me")
