"""The privacy requests other systems make: GET /api/v1/customers/ID/export, the same document as `flask customers
export`, and DELETE /api/v1/customers/ID, the same erasure as the admin page's, audited as the token's."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from feedback.api.scopes import requires_scope
from feedback.api.views import MAX_ID, authenticate_request
from feedback.errors import Problem
from feedback.extensions import csrf, db
from feedback.formatting import format_datetime
from feedback.postmortem.models import Customer
from feedback.privacy.erasure import erase_found
from feedback.privacy.export import export_person
from feedback.privacy.records import person_of_customer

blueprint = Blueprint("privacy_api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)
blueprint.before_request(authenticate_request)


def _customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id) if customer_id <= MAX_ID else None
    if customer is None:
        raise Problem(404, f"No customer has the id {customer_id}.")
    return customer


@blueprint.get("/customers/<int:customer_id>/export")
@requires_scope("privacy:export")
def export_customer(customer_id: int) -> Response:
    document = export_person(person_of_customer(_customer(customer_id)))
    db.session.commit()
    return jsonify(document)


@blueprint.delete("/customers/<int:customer_id>")
@requires_scope("privacy:erase")
def erase_customer(customer_id: int) -> Response:
    """Erases the person behind the record (every record and cancellation with their address), then says what."""
    customer = _customer(customer_id)
    if customer.erased_at is not None:
        raise Problem(410, f"Customer {customer_id} was erased on {format_datetime(customer.erased_at)}.")
    erased = erase_found(person_of_customer(customer), "requested through the API")
    db.session.commit()
    return jsonify(
        {
            "id": customer_id,
            "erased": {
                "customers": erased.customers,
                "cancellations": erased.cancellations,
                "emails": erased.messages,
            },
        }
    )
