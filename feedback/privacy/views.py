"""Admins export or erase the customer of a cancellation from its page."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from wtforms import StringField
from wtforms.validators import InputRequired

from feedback.auth.access import admin_required
from feedback.extensions import db
from feedback.inputs.forms import InputForm
from feedback.postmortem.models import Cancellation
from feedback.privacy.erasure import erase_person
from feedback.privacy.export import export_person
from feedback.privacy.records import Person, find_person, person_of_customer

blueprint = Blueprint("privacy", __name__, url_prefix="/admin/privacy")


class EraseForm(InputForm):
    confirm = StringField("Type the customer's email address to confirm", validators=[InputRequired("Type it.")])
    why = StringField("Why, kept in the audit trail")


def _person(cancellation_id: int) -> tuple[Cancellation, Person]:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if cancellation.customer_email:
        return cancellation, find_person(cancellation.customer_email)
    if cancellation.customer is not None and cancellation.customer.email:
        return cancellation, person_of_customer(cancellation.customer)
    abort(404, "This cancellation names no one whose data could be exported or erased.")


@blueprint.post("/cancellations/<int:cancellation_id>/export")
@admin_required
def export(cancellation_id: int) -> Response:
    """A download (POST, since an export is a disclosure the audit trail records)."""
    _, person = _person(cancellation_id)
    document = export_person(person)
    db.session.commit()
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="farewell-export-{cancellation_id}.json"'},
    )


@blueprint.route("/cancellations/<int:cancellation_id>/erase", methods=["GET", "POST"])
@admin_required
def erase(cancellation_id: int) -> str | Response | tuple[str, int]:
    cancellation, person = _person(cancellation_id)
    form = EraseForm()
    if form.validate_on_submit():
        if (form.confirm.data or "").strip().lower() != person.email:
            form.confirm.errors = [*form.confirm.errors, f"That is not {person.email}; nothing was erased."]
        else:
            erased = erase_person(person.email, form.why.data or "")
            db.session.commit()
            flash(f"Erased {erased}. The anonymous facts remain for insights.", "success")
            return redirect(url_for("cancellations.detail", cancellation_id=cancellation_id))
    status = 422 if form.errors else 200
    return render_template("privacy/erase.html", form=form, cancellation=cancellation, person=person), status
