"""/insights: every postmortem together, for every staff member; the filter lives in the URL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from feedback.auth.models import User
from feedback.extensions import db
from feedback.insights import charts
from feedback.insights.export import export_filename, export_rows
from feedback.insights.filters import AVOIDABLE_CHOICES, FIT_CHOICES, SOURCES, Filter, InvalidFilter, parse_filter
from feedback.insights.operations import set_digest, wants_digest
from feedback.insights.queries import Report, Share, report
from feedback.insights.takeaways import duration, takeaways
from feedback.postmortem.timeline import SOURCE_LABELS

blueprint = Blueprint("insights", __name__, url_prefix="/insights")

#: Stripe's own words for its cancellation feedback values.
STRIPE_LABELS = {
    "too_expensive": "Too expensive",
    "missing_features": "Missing features",
    "switched_service": "Switched service",
    "unused": "Unused",
    "customer_service": "Customer service",
    "too_complex": "Too complex",
    "low_quality": "Low quality",
    "other": "Other",
}


def _filter() -> tuple[Filter, dict[str, str]]:
    """The URL's filter; a part that makes no sense is dropped, and the page says which."""
    try:
        return parse_filter(request.args), {}
    except InvalidFilter as invalid:
        cleaned = {name: value for name, value in request.args.items() if name not in invalid.errors}
        try:
            return parse_filter(cleaned), invalid.errors
        except InvalidFilter:
            return parse_filter({}), invalid.errors


@blueprint.get("/")
@login_required
def index() -> str:
    f, errors = _filter()
    result = report(db.session.connection(), f)

    def bucket_label(start: date) -> str:
        return start.strftime("%b %Y" if f.by_month else "%-d %b")

    staff = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template(
        "insights/index.html",
        report=result,
        f=f,
        errors=errors,
        says=takeaways(result),
        staff=staff,
        sources=[(source, SOURCE_LABELS[source]) for source in SOURCES],
        fit_choices=FIT_CHOICES,
        avoidable_choices=AVOIDABLE_CHOICES,
        wants_digest=wants_digest(current_user),
        side_by_side=side_by_side(result),
        funnel=funnel(result),
        duration=duration,
        bucket_label=bucket_label,
        period_labels=[bucket_label(bucket.start) for bucket in result.periods],
        short_money=short_money,
        stripe_labels=STRIPE_LABELS,
        charts=charts,
        pct=charts.percent,
    )


def side_by_side(result: Report) -> list[dict[str, Any]]:
    """Each reason's share among customers beside its share among owners, in the customers' order."""
    owners = {share.label: share.share or 0.0 for share in result.owner_reasons}
    rows = [{"label": s.label, "customer": s.share or 0.0, "owner": owners.pop(s.label, 0.0)} for s in result.reasons]
    rows += [{"label": label, "customer": 0.0, "owner": share} for label, share in owners.items()]
    return rows if result.owner_reasons else []


def funnel(result: Report) -> list[Share]:
    t = result.totals
    return [
        Share(label, count, count / t["invited"] if t["invited"] else None)
        for label, count in (("Invited", t["invited"]), ("Opened", t["opened"]), ("Answered", t["answered"]))
    ]


def short_money(value: float) -> str:
    """An axis label: 12k rather than 12,000.00."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}"


@blueprint.get("/export.csv")
@login_required
def export() -> Response:
    """The filtered cancellations, one row each, streamed as the database hands them over.

    The rows carry customers' addresses and words: like the cancellations export, an owner's holds only their own.
    """
    f, _ = _filter()
    if not current_user.is_admin:
        f = replace(f, owner=current_user.email)
    rows = export_rows(f)
    headers = {"Content-Disposition": f'attachment; filename="{export_filename(f)}"'}
    return Response(stream_with_context(rows), mimetype="text/csv", headers=headers)


@blueprint.post("/digest")
@login_required
def digest() -> Response:
    wanted = request.form.get("wants_digest") == "yes"
    set_digest(current_user, wanted)
    db.session.commit()
    if wanted:
        flash("You will get the weekly digest every Monday.", "success")
    else:
        flash("No more weekly digests for you. You can turn it back on here at any time.", "info")
    return redirect(url_for("insights.index", **request.args))
