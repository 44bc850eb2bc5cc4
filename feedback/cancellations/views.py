from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from feedback.actions.views import postmortem_section
from feedback.auth.models import User
from feedback.cancellations.forms import CancellationForm
from feedback.cancellations.operations import (
    InvalidCancellation,
    NewCancellation,
    log_cancellation,
    open_postmortem,
    start_postmortem,
    visible_cancellations,
)
from feedback.extensions import db
from feedback.helpdesk.configured import configured
from feedback.helpdesk.history import history_for, merged_timeline
from feedback.i18n import LANGUAGES
from feedback.inbound.operations import held_for
from feedback.mail.suppression import suppression_for
from feedback.postmortem.access import may_review, may_see
from feedback.postmortem.history import earlier_cancellations
from feedback.postmortem.models import STATES, Cancellation
from feedback.postmortem.workflow import bounce
from feedback.surveys.mending import CannotReinvite, correct_and_reinvite, may_correct

blueprint = Blueprint("cancellations", __name__, url_prefix="/cancellations")

PER_PAGE = 25


@blueprint.get("/")
@login_required
def index() -> str:
    state = request.args.get("state", "")
    mine = request.args.get("owner") == "me"
    page = db.paginate(visible_cancellations(current_user, state, mine), per_page=PER_PAGE, error_out=False)
    return render_template("cancellations/index.html", page=page, state=state, mine=mine, states=STATES)


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    form = CancellationForm()
    staff = db.session.scalars(select(User).where(User.active).order_by(User.name)).all()
    form.owner_email.choices = [SelectChoice(user.email, f"{user.name} ({user.email})") for user in staff]
    if request.method == "GET":
        form.owner_email.data = current_user.email
    if form.validate_on_submit():
        existing = open_postmortem((form.customer_email.data or "").strip())
        if existing is not None and not form.join_open.data:
            # One postmortem per departure: say so before a second one is logged, and offer the first.
            return render_template("cancellations/new.html", form=form, existing=existing), 200
        data = NewCancellation(
            customer_name=form.customer_name.data or "",
            customer_email=form.customer_email.data or "",
            owner_email=form.owner_email.data or "",
            company=form.company.data or "",
            plan=form.plan.data or "",
            mrr=form.mrr.data,
            customer_since=form.customer_since.data,
            reason=form.reason.data or "",
            complaint=form.complaint.data or "",
            locale=form.locale.data or None,
            source="web",
            logged_by=current_user._get_current_object(),
        )
        try:
            cancellation = log_cancellation(data)
        except InvalidCancellation as invalid:
            for name, message in invalid.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            db.session.commit()
            if cancellation.joined:
                flash(
                    f"Added to the open postmortem of {cancellation.customer_name}; nothing was emailed again.", "info"
                )
                return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id))
            if suppression_for(cancellation.customer_email) is not None:
                flash(
                    f"Logged. {cancellation.customer_name} asked us not to email them, so no survey goes out.", "info"
                )
            else:
                flash(f"Logged. {cancellation.customer_name} will get the exit survey by email.", "success")
            if not may_see(current_user, cancellation):  # logged for a colleague: it is theirs to follow
                flash(f"{cancellation.owner.name} owns it and has been asked for the review.", "info")
                return redirect(url_for("cancellations.index"))
            return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id))
    status = 422 if form.errors else 200
    return render_template("cancellations/new.html", form=form, existing=None), status


@blueprint.get("/<int:cancellation_id>")
@login_required
def detail(cancellation_id: int) -> str:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_see(current_user, cancellation):
        abort(403, "This cancellation belongs to another account owner. Its summary is open to all staff once sent.")
    return render_template(
        "cancellations/detail.html",
        cancellation=cancellation,
        may_review=may_review(current_user, cancellation),
        languages=LANGUAGES,
        suppression=suppression_for(cancellation.customer_email),
        bounce=bounce(cancellation),
        may_correct=may_correct(cancellation),
        corrected=[event for event in cancellation.events if event.kind == "address_corrected"],
        earlier=earlier_cancellations(cancellation),
        held=held_for(cancellation),
        helpdesk=(history := history_for(cancellation)),
        timeline=merged_timeline(cancellation, history),
        helpdesk_configured=configured() is not None,
        **postmortem_section(cancellation),
    )


@blueprint.post("/<int:cancellation_id>/reinvite")
@login_required
def reinvite(cancellation_id: int) -> Response | tuple[str, int]:
    """Correct the address and invite again, after the customer's address bounced for good."""
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_review(current_user, cancellation):
        abort(403, "Only the account owner (or an admin) can correct the customer's address.")
    try:
        correct_and_reinvite(cancellation, request.form.get("customer_email", ""), current_user.name)
    except CannotReinvite as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return redirect(url_for("cancellations.detail", cancellation_id=cancellation_id, _anchor="reinvite"))
    db.session.commit()
    flash(f"Invited again at {cancellation.customer_email}; the old link no longer works.", "success")
    return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id))


@blueprint.post("/<int:cancellation_id>/start")
@login_required
def start(cancellation_id: int) -> Response:
    """An involuntary cancellation asks no one by default; its owner may still want the customer's side."""
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_review(current_user, cancellation):
        abort(403, "Only the account owner (or an admin) can start this postmortem.")
    if cancellation.invitation is None and cancellation.customer_email and cancellation.stayed_at is None:
        start_postmortem(cancellation)
        db.session.commit()
        flash(f"Started. {cancellation.customer_name} will get the exit survey by email.", "success")
    return redirect(url_for("cancellations.detail", cancellation_id=cancellation.id))
