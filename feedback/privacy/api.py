"""GET /api/v1/customers/ID/export: the same document as `flask customers export`, for other systems."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from feedback.api.views import MAX_ID, authenticate_request
from feedback.errors import Problem
from feedback.extensions import csrf, db
from feedback.postmortem.models import Customer
from feedback.privacy.export import export_person
from feedback.privacy.records import person_of_customer

blueprint = Blueprint("privacy_api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)
blueprint.before_request(authenticate_request)


@blueprint.get("/customers/<int:customer_id>/export")
def export_customer(customer_id: int) -> Response:
    customer = db.session.get(Customer, customer_id) if customer_id <= MAX_ID else None
    if customer is None:
        raise Problem(404, f"No customer has the id {customer_id}.")
    document = export_person(person_of_customer(customer))
    db.session.commit()
    return jsonify(document)
