"""Staff complete a cancellation that billing sent without the customer's contact details."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import EmailField, StringField
from wtforms.validators import InputRequired

from feedback.cancellations.operations import InvalidCancellation
from feedback.customers.contact import complete_contact
from feedback.extensions import db
from feedback.inputs.forms import InputForm
from feedback.postmortem.access import may_see
from feedback.postmortem.models import Cancellation

blueprint = Blueprint("customers", __name__, url_prefix="/cancellations")


class ContactForm(InputForm):
    customer_name = StringField("Customer's name", validators=[InputRequired("The customer's name is required.")])
    customer_email = EmailField(
        "Customer's email", validators=[InputRequired("The customer's email address is required.")]
    )


@blueprint.route("/<int:cancellation_id>/contact", methods=["GET", "POST"])
@login_required
def contact(cancellation_id: int) -> str | Response | tuple[str, int]:
    cancellation = db.get_or_404(Cancellation, cancellation_id)
    if not may_see(current_user, cancellation):
        abort(403, "This cancellation belongs to another account owner.")
    if not cancellation.needs_contact:
        return redirect(url_for("cancellations.detail", cancellation_id=cancellation_id))
    form = ContactForm(obj=cancellation)
    if form.validate_on_submit():
        try:
            complete_contact(
                cancellation_id, form.customer_name.data or "", form.customer_email.data or "", current_user
            )
        except InvalidCancellation as invalid:
            for name, message in invalid.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            db.session.commit()
            flash("Saved. The customer will get the exit survey by email.", "success")
            return redirect(url_for("cancellations.detail", cancellation_id=cancellation_id))
    status = 422 if form.errors else 200
    return render_template("customers/contact.html", form=form, cancellation=cancellation), status
