"""/actions: every action item across postmortems, and the writes the postmortem page and the list share."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from feedback.actions.forms import CloseForm, ItemForm, fill_choices, owner_choices, reason_choices
from feedback.actions.models import STATUS_LABELS, STATUSES, ActionItem
from feedback.actions.operations import (
    InvalidActionItem,
    add_item,
    close_item,
    counts_for,
    default_due,
    items_of,
    listed_items,
    may_change,
    reopen_item,
    today_utc,
    update_item,
)
from feedback.auth.models import User
from feedback.extensions import db
from feedback.postmortem.access import may_review, may_see
from feedback.postmortem.models import Cancellation

blueprint = Blueprint("actions", __name__, url_prefix="/actions")

PER_PAGE = 25
#: The list's tabs: a status, or the open items past their due date.
VIEWS = {"open": "Open", "overdue": "Overdue", "done": "Done", "not_doing": "Not doing", "all": "All"}


@blueprint.get("/")
@login_required
def index() -> str:
    """Open items by default, soonest due first; the viewer's own first unless they filter by owner."""
    view = request.args.get("view", "open")
    view = view if view in VIEWS else "open"
    owner_arg = request.args.get("owner", "")
    owner = _owner_filter(owner_arg)
    reason = request.args.get("reason", "")
    today = today_utc()
    query = listed_items(
        owner_id=owner.id if owner else None,
        status=view if view in STATUSES else ("open" if view == "overdue" else ""),
        overdue=view == "overdue",
        reason=reason,
        today=today,
        first_for=None if owner else current_user.id,
    )
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "actions/index.html",
        page=page,
        view=view,
        views=VIEWS,
        owner_arg=owner_arg,
        owners=owner_choices(),
        reason=reason,
        reasons=reason_choices(reason)[1:],
        today=today,
        mine=counts_for(current_user.id, today),
        total=db.session.scalar(select(func.count()).select_from(ActionItem)) or 0,
        **_item_helpers(),
    )


def _owner_filter(value: str) -> User | None:
    if value == "me":
        return current_user._get_current_object()
    if value:
        return db.session.scalar(select(User).where(func.lower(User.email) == value.lower()))
    return None


def _item_helpers() -> dict[str, Any]:
    return {
        "may_change": lambda item: may_change(current_user, item),
        "postmortem_url": _postmortem_url,
        "status_labels": STATUS_LABELS,
        "close_form": CloseForm(formdata=None),
    }


def _postmortem_url(item: ActionItem) -> str | None:
    """The postmortem where the viewer may open it, else its summary once sent (open to all staff), else nothing."""
    if may_see(current_user, item.cancellation):
        return url_for("cancellations.detail", cancellation_id=item.cancellation_id, _anchor="actions")
    if item.cancellation.summary is not None:
        return url_for("summaries.summary", cancellation_id=item.cancellation_id)
    return None


def postmortem_section(cancellation: Cancellation) -> dict[str, Any]:
    """What the postmortem page needs for its action items: the items, an empty form to add one, the helpers."""
    form = ItemForm(formdata=None)
    fill_choices(form)
    form.owner_email.data = cancellation.owner.email
    form.due_on.data = default_due()
    return {"action_items": items_of(cancellation), "item_form": form, "today": today_utc(), **_item_helpers()}


def _back(item_or_cancellation_id: int, fallback_anchor: str = "actions") -> Response:
    """Back to where the person pressed the button: the list (with its filters) or the postmortem page."""
    back = request.form.get("back", "")
    if back.startswith("/actions") and not back.startswith("//"):
        return redirect(back)
    return redirect(url_for("cancellations.detail", cancellation_id=item_or_cancellation_id, _anchor=fallback_anchor))


@blueprint.route("/new/<int:cancellation_id>", methods=["GET", "POST"])
@login_required
def add(cancellation_id: int) -> str | Response | tuple[str, int]:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_review(current_user, cancellation):
        abort(403, "Only the account owner of this postmortem, or an admin, can add its action items.")
    form = ItemForm()
    fill_choices(form)
    if request.method == "GET":
        form.owner_email.data = cancellation.owner.email
        form.due_on.data = default_due()
    if form.validate_on_submit():
        try:
            item = add_item(
                cancellation,
                title=form.title.data or "",
                owner_email=form.owner_email.data,
                due_on=form.due_on.data,
                ticket_url=form.ticket_url.data,
                reason=form.reason.data or "",
                created_by=current_user._get_current_object(),
            )
        except InvalidActionItem as invalid:
            _show_errors(form, invalid)
        else:
            db.session.commit()
            flash(f"Added: {item.title}. {item.owner.name} owns it.", "success")
            return _back(cancellation.id)
    status = 422 if form.errors else 200
    return render_template("actions/form.html", form=form, cancellation=cancellation, item=None), status


@blueprint.route("/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit(item_id: int) -> str | Response | tuple[str, int]:
    item = _changeable(item_id)
    form = ItemForm(obj=None if request.method == "POST" else item)
    fill_choices(form, item.reason)
    if request.method == "GET":
        form.owner_email.data = item.owner.email
        form.ticket_url.data = item.ticket_url or ""
    if form.validate_on_submit():
        changes = {
            "title": form.title.data or "",
            "owner_email": form.owner_email.data,
            "due_on": form.due_on.data,
            "ticket_url": form.ticket_url.data,
            "reason": form.reason.data or "",
        }
        try:
            update_item(item, changes, current_user._get_current_object())
        except InvalidActionItem as invalid:
            _show_errors(form, invalid)
        else:
            db.session.commit()
            flash(f"Saved: {item.title}.", "success")
            return _back(item.cancellation_id)
    status = 422 if form.errors else 200
    return render_template("actions/form.html", form=form, cancellation=item.cancellation, item=item), status


@blueprint.post("/<int:item_id>/close")
@login_required
def close(item_id: int) -> Response:
    item = _changeable(item_id)
    form = CloseForm()
    status = request.form.get("status", "")
    if not form.validate_on_submit() or status not in ("done", "not_doing"):
        flash("That didn't go through; please try again.", "error")
        return _back(item.cancellation_id)
    close_item(item, status, form.note.data or "", current_user._get_current_object())
    db.session.commit()
    flash(f"{STATUS_LABELS[status]}: {item.title}.", "success")
    return _back(item.cancellation_id)


@blueprint.post("/<int:item_id>/reopen")
@login_required
def reopen(item_id: int) -> Response:
    item = _changeable(item_id)
    if CloseForm().validate_on_submit() and not item.is_open:
        reopen_item(item, current_user._get_current_object())
        db.session.commit()
        flash(f"Reopened: {item.title}.", "success")
    return _back(item.cancellation_id)


def _changeable(item_id: int) -> ActionItem:
    item = db.get_or_404(ActionItem, item_id)
    if not may_change(current_user, item):
        abort(403, "Only the item's owner, the postmortem's owner or an admin can change this item.")
    return item


def _show_errors(form: ItemForm, invalid: InvalidActionItem) -> None:
    for name, message in invalid.errors.items():
        field = form._fields.get(name, form.title)
        field.errors = [*field.errors, message]
