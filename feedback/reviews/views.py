from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from feedback.extensions import db
from feedback.helpdesk.history import history_for
from feedback.postmortem.access import may_review
from feedback.postmortem.models import Cancellation
from feedback.questions.forms import answers_from, questionnaire_form
from feedback.reviews.models import Review
from feedback.reviews.operations import AlreadyReviewed, review_version, submit_review
from feedback.reviews.parts import review_parts

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
    parts = review_parts()
    asked = [q for q in version.questions if q.key not in parts]
    formdata = request.form if request.method == "POST" else None
    # A question answered by a part (the action items' rows) gets that part's form instead of a field.
    part_forms = {q.key: parts[q.key].make_form(cancellation, q, formdata) for q in version.questions if q.key in parts}
    form = questionnaire_form(asked)
    more = any(parts[key].wants_more(part_form) for key, part_form in part_forms.items())
    if not more and form.validate_on_submit():
        parts_valid = all(parts[q.key].validate(part_forms[q.key], q) for q in version.questions if q.key in parts)
        if parts_valid:

            def save_parts(written: Review) -> None:
                for key, part_form in part_forms.items():
                    parts[key].save(written, part_form, current_user._get_current_object())

            try:
                submit_review(cancellation, current_user, answers_from(form, asked), version.id, then=save_parts)
            except AlreadyReviewed:
                return render_template("reviews/already.html", cancellation=cancellation), 409
            db.session.commit()
            if cancellation.summary is not None:
                flash("Review submitted. The summary is on its way to your inbox.", "success")
                return redirect(url_for("summaries.summary", cancellation_id=cancellation.id))
            flash("Review submitted. The summary follows when the customer answers or their link expires.", "success")
            return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id))
    failed = bool(form.errors) or any(getattr(f, "has_errors", False) for f in part_forms.values())
    status = 422 if failed and not more else 200
    return render_template(
        "reviews/review.html",
        form=form,
        questions=version.questions,
        cancellation=cancellation,
        parts=parts,
        part_forms=part_forms,
        failed=failed and not more,
        helpdesk=history_for(cancellation),
    ), status
