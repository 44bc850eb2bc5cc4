from flask import Blueprint, render_template
from flask_login import login_required

from feedback.cancellations.models import Cancellation
from feedback.extensions import db
from feedback.summaries.operations import summary_context

blueprint = Blueprint("summaries", __name__, url_prefix="/cancellations")


@blueprint.get("/<int:cancellation_id>/summary")
@login_required
def summary(cancellation_id: int) -> str:
    """Every staff member may read summaries; they are how the team learns."""
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    return render_template("summaries/summary.html", **summary_context(cancellation))
