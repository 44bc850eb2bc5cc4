"""Admin → Webhooks (/admin/webhooks): add, list and remove endpoints; an endpoint's attempts, with Replay."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from feedback.auth.access import admin_required
from feedback.event_log.operations import (
    CannotReplay,
    InvalidEndpoint,
    add_endpoint,
    all_endpoints,
    enable_endpoint,
    remove_endpoint,
    replay,
)
from feedback.events.catalogue import COMING, EVENTS, KINDS
from feedback.events.models import Delivery, WebhookEndpoint
from feedback.extensions import db
from feedback.inputs.forms import InputForm

blueprint = Blueprint("event_log", __name__, url_prefix="/admin/webhooks")

#: The deliveries an endpoint's page shows, newest first.
SHOWN_DELIVERIES = 50
KIND_LABELS = {"standard": "Signed (Standard Webhooks)", "slack": "Slack incoming webhook", "teams": "Microsoft Teams"}


class EndpointForm(InputForm):
    url = StringField("URL", validators=[InputRequired("Enter the URL to post events to."), Length(max=2000)])
    kind = SelectField("Kind", choices=[SelectChoice(kind, KIND_LABELS[kind]) for kind in KINDS], default="standard")
    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(name, name) for name in EVENTS if name not in COMING],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    include_answers = BooleanField("Include the customer's own words (survey answers, replies)")


@blueprint.route("/", methods=["GET", "POST"])
@admin_required
def index() -> str | tuple[str, int]:
    form = EndpointForm()
    new_endpoint = None
    if form.validate_on_submit():
        try:
            new_endpoint = add_endpoint(
                form.url.data or "", form.kind.data, list(form.events.data or []), form.include_answers.data
            )
        except InvalidEndpoint as refused:
            form.url.errors = [*form.url.errors, str(refused)]
        else:
            db.session.commit()
            form = EndpointForm(formdata=None)
    counts = dict(
        db.session.execute(
            select(Delivery.endpoint_id, func.count()).where(Delivery.status == "failed").group_by(Delivery.endpoint_id)
        ).all()
    )
    status = 422 if form.errors else 200
    return render_template(
        "event_log/index.html",
        form=form,
        endpoints=all_endpoints(),
        failed=counts,
        new_endpoint=new_endpoint,
        kind_labels=KIND_LABELS,
    ), status


@blueprint.get("/<int:endpoint_id>")
@admin_required
def endpoint(endpoint_id: int) -> str:
    found = db.get_or_404(WebhookEndpoint, endpoint_id)
    deliveries = db.session.scalars(
        select(Delivery)
        .where(Delivery.endpoint_id == found.id)
        .options(selectinload(Delivery.attempt_log), selectinload(Delivery.event))
        .order_by(Delivery.id.desc())
        .limit(SHOWN_DELIVERIES)
    ).all()
    return render_template("event_log/endpoint.html", endpoint=found, deliveries=deliveries, kind_labels=KIND_LABELS)


@blueprint.post("/<int:endpoint_id>/remove")
@admin_required
def remove(endpoint_id: int) -> Response:
    found = db.get_or_404(WebhookEndpoint, endpoint_id)
    remove_endpoint(found)
    db.session.commit()
    flash(f"Removed the webhook to {found.url}.", "success")
    return redirect(url_for("event_log.index"))


@blueprint.post("/<int:endpoint_id>/enable")
@admin_required
def enable(endpoint_id: int) -> Response:
    found = db.get_or_404(WebhookEndpoint, endpoint_id)
    enable_endpoint(found)
    db.session.commit()
    flash("Enabled: what was waiting for it goes when the worker next runs.", "success")
    return redirect(url_for("event_log.endpoint", endpoint_id=found.id))


@blueprint.post("/deliveries/<int:delivery_id>/replay")
@admin_required
def replay_delivery(delivery_id: int) -> Response:
    delivery = db.get_or_404(Delivery, delivery_id)
    try:
        replay(delivery)
    except CannotReplay as refused:
        flash(f"Not replayed: {refused}", "error")
    else:
        db.session.commit()
        flash(f"Delivery {delivery.id} goes again when the worker next runs, as {delivery.webhook_id}.", "success")
    return redirect(url_for("event_log.endpoint", endpoint_id=delivery.endpoint_id))
