from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from feedback.extensions import db
from feedback.postmortem.access import may_review
from feedback.postmortem.models import Cancellation
from feedback.questions.forms import answers_from, questionnaire_form
from feedback.reviews.operations import AlreadyReviewed, review_version, submit_review

blueprint = Blueprint("reviews", __name__, url_prefix="/cancellations")


@blueprint.route("/<int:cancellation_id>/review", methods=["GET", "POST"])
@login_required
def review(cancellation_id: int) -> str | Response | tuple[str, int]:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_review(current_user, cancellation):
        abort(403, "Only the account owner of this cancellation, or an admin, can write its review.")
    if cancellation.review is not None:
        flash("The review is already in; here is what was submitted.", "info")
        return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id, _anchor="review"))
    version = review_version(cancellation)
    form = questionnaire_form(version.questions)
    if form.validate_on_submit():
        try:
            submit_review(cancellation, current_user, answers_from(form, version.questions), version.id)
        except AlreadyReviewed:
            return render_template("reviews/already.html", cancellation=cancellation), 409
        db.session.commit()
        if cancellation.summary is not None:
            flash("Review submitted. The summary is on its way to your inbox.", "success")
            return redirect(url_for("summaries.summary", cancellation_id=cancellation.id))
        flash("Review submitted. The summary follows when the customer answers or their link expires.", "success")
        return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id))
    status = 422 if form.errors else 200
    return render_template(
        "reviews/review.html", form=form, questions=version.questions, cancellation=cancellation
    ), status
