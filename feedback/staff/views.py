"""Admins manage staff; invited staff choose their password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from feedback import audit
from feedback.actions.models import ActionItem
from feedback.actions.operations import open_items_owned_by
from feedback.auth import second_step, two_factor
from feedback.auth.access import admin_required
from feedback.auth.models import User
from feedback.auth.operations import InvalidUser, last_sign_ins, record_sign_in
from feedback.extensions import db
from feedback.postmortem.models import Cancellation
from feedback.staff.forms import InviteForm, ReassignForm, SetPasswordForm
from feedback.staff.operations import (
    accept_invitation,
    change_role,
    check_invitation,
    hand_over_open_work,
    invite_staff,
    open_cancellations,
    queue_invitation,
    set_active,
)

blueprint = Blueprint("staff", __name__)

INVITE_PAGES = {"invalid": 404, "expired": 410, "used": 410, "deactivated": 410}


@blueprint.route("/admin/staff/", methods=["GET", "POST"])
@admin_required
def index() -> str | Response | tuple[str, int]:
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = invite_staff(form.email.data or "", form.name.data or "", form.role.data or "owner", current_user)
        except InvalidUser as error:
            form.email.errors = [*form.email.errors, str(error)]
        else:
            db.session.commit()
            flash(f"Invitation sent to {user.email}.", "success")
            return redirect(url_for("staff.index"))
    staff = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    open_counts = _count_per_owner(Cancellation.owner_id, Cancellation.state != "summarized")
    open_items = _count_per_owner(ActionItem.owner_id, ActionItem.status == "open")
    status = 422 if form.errors else 200
    return render_template(
        "staff/index.html",
        form=form,
        staff=staff,
        open_counts=open_counts,
        open_items=open_items,
        sign_ins=last_sign_ins(),
    ), status


def _count_per_owner(owner: InstrumentedAttribute[int], still_open: ColumnElement[bool]) -> dict[int, int]:
    """{user id: how many of their rows are still open}, for the staff list's columns."""
    return dict(db.session.execute(select(owner, func.count()).where(still_open).group_by(owner)).all())


@blueprint.post("/admin/staff/<int:user_id>/deactivate")
@admin_required
def deactivate(user_id: int) -> Response:
    return _set_active(user_id, False)


@blueprint.post("/admin/staff/<int:user_id>/reactivate")
@admin_required
def reactivate(user_id: int) -> Response:
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool) -> Response:
    user = db.get_or_404(User, user_id)
    try:
        set_active(user, active, current_user)
    except InvalidUser as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"{user.name} is {'active again' if active else 'deactivated; their sessions have ended'}.", "success")
    return redirect(url_for("staff.index"))


@blueprint.post("/admin/staff/<int:user_id>/reset-second-factor")
@admin_required
def reset_second_factor(user_id: int) -> Response:
    """For a lost phone: the colleague's authenticator and recovery codes stop working; they enrol at next sign-in."""
    user = db.get_or_404(User, user_id)
    if user.totp_secret is not None:
        two_factor.reset(user, current_user)
        db.session.commit()
        flash(f"{user.name}'s second factor is reset; they set up a new one when they next sign in.", "success")
    return redirect(url_for("staff.index"))


@blueprint.post("/admin/staff/<int:user_id>/resend")
@admin_required
def resend(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    if user.password_hash is None and user.active:
        queue_invitation(user, current_user)
        audit.record("staff.resend_invitation", user, f"{user.email}.")
        db.session.commit()
        flash(f"A new invitation is on its way to {user.email}.", "success")
    return redirect(url_for("staff.index"))


@blueprint.post("/admin/staff/<int:user_id>/role")
@admin_required
def role(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    try:
        change_role(user, request.form.get("role", ""), current_user)
    except InvalidUser as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"{user.name} is now {'an admin' if user.is_admin else 'an account owner'}.", "success")
    return redirect(url_for("staff.index"))


@blueprint.route("/admin/staff/<int:user_id>/reassign", methods=["GET", "POST"])
@admin_required
def reassign(user_id: int) -> str | Response | tuple[str, int]:
    user = db.get_or_404(User, user_id)
    form = ReassignForm()
    colleagues = db.session.scalars(select(User).where(User.active, User.id != user.id).order_by(User.name)).all()
    form.to_user.choices = [SelectChoice(c.id, f"{c.name} ({c.email})") for c in colleagues]
    if form.validate_on_submit():
        to_user = db.get_or_404(User, form.to_user.data)
        try:
            moved = hand_over_open_work(user, to_user, current_user)
        except InvalidUser as error:
            form.to_user.errors = [*form.to_user.errors, str(error)]
        else:
            db.session.commit()
            flash(f"{handed_over(moved.cancellations, moved.action_items)} reassigned to {to_user.name}.", "success")
            return redirect(url_for("staff.index"))
    status = 422 if form.errors else 200
    return render_template(
        "staff/reassign.html",
        form=form,
        user=user,
        cancellations=open_cancellations(user),
        items=open_items_owned_by(user),
        colleagues=colleagues,
        handed_over=handed_over,
    ), status


def handed_over(cancellations: int, action_items: int) -> str:
    """In words: "2 open cancellations and 1 open action item", leaving out a count of none (unless both are)."""
    parts = [
        f"{count} open {noun}{'s' if count != 1 else ''}"
        for count, noun in ((cancellations, "cancellation"), (action_items, "action item"))
        if count or not (cancellations or action_items)
    ]
    return " and ".join(parts)


@blueprint.route("/welcome/<token>", methods=["GET", "POST"])
def accept(token: str) -> str | Response | tuple[str, int]:
    """The invitation link: choose a password, then straight in."""
    invite = check_invitation(token)
    if invite.state != "ok":
        return render_template("staff/invite_unusable.html", state=invite.state), INVITE_PAGES[invite.state]
    user = invite.user
    assert user is not None
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            accept_invitation(user, form.password.data or "")
        except InvalidUser as error:
            form.password.errors = [*form.password.errors, str(error)]
        else:
            db.session.commit()
            if two_factor.needs_second_step(user):  # an invited admin enrols before the first session
                return second_step.begin(user, None)
            session.clear()  # a fresh session, as on every login
            login_user(user)
            record_sign_in(user, how="the password just chosen on the invitation")
            db.session.commit()
            flash(f"Welcome, {user.name}. Your password is set.", "success")
            return redirect(url_for("cancellations.index"))
    status = 422 if form.errors else 200
    return render_template("staff/accept.html", form=form, user=user), status
