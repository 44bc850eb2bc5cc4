"""/win-back: who might come back, what changed for them, the owner's one email; and the referrals we were given."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from feedback.actions.models import ActionItem
from feedback.extensions import db
from feedback.inputs.forms import InputForm
from feedback.mail.suppression import suppression_for
from feedback.postmortem.models import Cancellation
from feedback.surveys.models import SurveyResponse
from feedback.winback.operations import (
    BODY_MAX,
    LIKELIHOOD_KEY,
    REFERRAL_KEY,
    SUBJECT_MAX,
    CannotTell,
    UnfinishedMessage,
    answers_of,
    asks_of,
    candidates,
    consent_of,
    contacts_by_response,
    decided,
    default_message,
    items_for_reason,
    mark_contacted,
    may_mark,
    reason_of,
    referrals,
    skip_telling,
    tell_customer,
)

blueprint = Blueprint("winback", __name__, url_prefix="/win-back")

PER_PAGE = 20


class TellForm(InputForm):
    subject = StringField("Subject", validators=[InputRequired("Write a subject."), Length(max=SUBJECT_MAX)])
    body = TextAreaField("Message", validators=[InputRequired("Write the message."), Length(max=BODY_MAX)])


class ContactedForm(InputForm):
    contacted = BooleanField("Contacted")


@blueprint.get("/")
@login_required
def index() -> str:
    mine = request.args.get("owner") == "me"
    query = candidates(first_for=current_user.id, owner_id=current_user.id if mine else None)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    rows = []
    for cancellation in page.items:
        reason = reason_of(cancellation)
        consent = consent_of(cancellation)
        rows.append(
            {
                "cancellation": cancellation,
                "reason": reason,
                "likelihood": answers_of(cancellation).get(LIKELIHOOD_KEY),
                "consent": consent,
                "suppressed": suppression_for(cancellation.customer_email) is not None,
                "changes": items_for_reason(reason),
                "asks": asks_of(cancellation),
                "decisions": decided(cancellation.customer_email),
            }
        )
    return render_template("winback/index.html", page=page, rows=rows, mine=mine)


def _pair(cancellation_id: int, item_id: int) -> tuple[Cancellation, ActionItem]:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    item = db.get_or_404(ActionItem, item_id)
    if current_user.id != cancellation.owner_id:
        abort(403, f"Only {cancellation.owner.name}, who owns this customer, can write to them.")
    return cancellation, item


@blueprint.route("/<int:cancellation_id>/tell/<int:item_id>", methods=["GET", "POST"])
@login_required
def tell(cancellation_id: int, item_id: int) -> str | Response | tuple[str, int]:
    """The owner reads (and edits) the draft; only their press of Send queues the email."""
    cancellation, item = _pair(cancellation_id, item_id)
    if item.id not in {ask.item.id for ask in asks_of(cancellation)} and request.method == "GET":
        flash("There is nothing to tell this customer about that change (already told, or not theirs to hear).", "info")
        return redirect(url_for("winback.index"))
    form = TellForm()
    if request.method == "GET":
        form.subject.data, form.body.data = default_message(cancellation, item, current_user)
    if form.validate_on_submit():
        try:
            tell_customer(cancellation, item, form.subject.data or "", form.body.data or "", current_user)
        except UnfinishedMessage as unfinished:  # the same form again, with what they typed and what to fix
            db.session.rollback()
            form.body.errors = [*form.body.errors, str(unfinished)]
            return render_template("winback/tell.html", form=form, cancellation=cancellation, item=item), 422
        except CannotTell as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return redirect(url_for("winback.index"))
        db.session.commit()
        flash(f"Queued: {cancellation.customer_name} hears about “{item.title}”. Their reply comes to you.", "success")
        return redirect(url_for("winback.index"))
    status = 422 if form.errors else 200
    return render_template("winback/tell.html", form=form, cancellation=cancellation, item=item), status


@blueprint.post("/<int:cancellation_id>/skip/<int:item_id>")
@login_required
def skip(cancellation_id: int, item_id: int) -> Response:
    cancellation, item = _pair(cancellation_id, item_id)
    if InputForm().validate_on_submit():
        try:
            skip_telling(cancellation, item, current_user)
        except CannotTell as refused:
            db.session.rollback()
            flash(str(refused), "error")
        else:
            db.session.commit()
            flash(f"Noted: no email to {cancellation.customer_name} about “{item.title}”.", "success")
    return redirect(url_for("winback.index"))


@blueprint.get("/referrals")
@login_required
def referral_list() -> str:
    page = db.paginate(referrals(current_user), per_page=PER_PAGE, error_out=False)
    return render_template(
        "winback/referrals.html",
        page=page,
        key=REFERRAL_KEY,
        contacts=contacts_by_response(),
        form=ContactedForm(),
        may_mark=may_mark,
    )


@blueprint.post("/referrals/<int:response_id>")
@login_required
def mark(response_id: int) -> Response:
    response = db.get_or_404(SurveyResponse, response_id)
    if not may_mark(response, current_user):
        owner = response.invitation.cancellation.owner
        abort(403, f"Only {owner.name}, who owns this customer, or an admin can mark this referral.")
    form = ContactedForm()
    if form.validate_on_submit():
        mark_contacted(response, current_user, bool(request.form.get("contacted")))
        db.session.commit()
    return redirect(url_for("winback.referral_list", page=request.args.get("page", 1, type=int)))
