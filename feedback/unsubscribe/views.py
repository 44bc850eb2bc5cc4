"""The customer's ways out: unsubscribing (a signed link, and the RFC 8058 one-click POST), and taking back the
win-back consent they gave on the exit survey."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from feedback.extensions import csrf, db
from feedback.i18n import use_customer_locale
from feedback.mail.suppression import check_unsubscribe_token, opted_out_with, suppress, suppression_for
from feedback.postmortem.models import Cancellation
from feedback.surveys.consent import WinbackConsent, check_withdraw_token
from feedback.surveys.consent import withdraw_consent as withdraw_consent_of

blueprint = Blueprint("unsubscribe", __name__, url_prefix="/u")


@blueprint.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # mail apps POST here with no cookies and no form token; the signed link is the credential
def unsubscribe(token: str) -> str | tuple[str, int]:
    """GET asks (link scanners open links, and must not unsubscribe anyone); POST opts the address out."""
    link = check_unsubscribe_token(token)
    if link.invalid:
        return render_template("unsubscribe/invalid.html"), 404
    address, cancellation_id = link.data["a"], link.data.get("c")
    cancellation = db.session.get(Cancellation, cancellation_id) if isinstance(cancellation_id, int) else None
    use_customer_locale(cancellation.locale if cancellation else None)
    if request.method == "GET":
        return render_template("unsubscribe/confirm.html", address=address, done=suppression_for(address))
    # An expired link still names its address truthfully, and leaving must never stop working.
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    reason = "Asked by the mail app's unsubscribe button." if one_click else "Confirmed on the unsubscribe page."
    source = "one-click" if one_click else "link"
    erased = cancellation is not None and cancellation.erased_at is not None
    suppression, added = suppress(address, source=source, reason=reason, cancellation_id=cancellation_id, erased=erased)
    if added and cancellation is not None:
        who = "The customer (since erased)" if erased else address
        detail = f"{who} opted out of Farewell email with {opted_out_with(source)}."
        cancellation.record("unsubscribed", detail, at=suppression.created_at)
    db.session.commit()
    return render_template("unsubscribe/done.html", address=address)


@blueprint.route("/consent/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed link is the credential, as for unsubscribing
def withdraw_consent(token: str) -> str | tuple[str, int]:
    """Takes back "you may let me know if you change what made me leave". GET asks; POST withdraws."""
    link = check_withdraw_token(token)
    if link.invalid:
        return render_template("unsubscribe/invalid.html"), 404
    address = link.data["a"]
    consents = db.session.scalars(select(WinbackConsent).where(WinbackConsent.email == address)).all()
    latest = max(consents, key=lambda c: c.given_at, default=None)
    cancellation = db.session.get(Cancellation, latest.cancellation_id) if latest else None
    use_customer_locale(cancellation.locale if cancellation else None)
    standing = any(c.withdrawn_at is None for c in consents)
    if request.method == "GET":
        return render_template("unsubscribe/consent.html", address=address, standing=standing)
    if withdraw_consent_of(address) and cancellation is not None:
        cancellation.record("consent_withdrawn", f"{address} withdrew their consent to hear about changes.")
    db.session.commit()
    return render_template("unsubscribe/consent_done.html", address=address, unsubscribe_url=None)
