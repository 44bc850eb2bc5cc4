"""/insights: every postmortem together, for every staff member; the filter lives in the URL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from feedback import audit
from feedback.auth.models import User
from feedback.extensions import db
from feedback.i18n import LANGUAGES
from feedback.insights import charts
from feedback.insights.export import export_filename, export_rows
from feedback.insights.filters import (
    AVOIDABLE_CHOICES,
    CHURN_CHOICES,
    FIT_CHOICES,
    SOURCES,
    Filter,
    InvalidFilter,
    parse_filter,
)
from feedback.insights.operations import set_digest, wants_digest
from feedback.insights.queries import Report, Share, report
from feedback.insights.takeaways import duration, takeaways
from feedback.postmortem.access import customer_words_readable
from feedback.postmortem.models import Cancellation
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
    result = report(db.session.connection(), f, customer_words_readable(current_user))

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
        plans=_every("plan", f.plan),
        locales=[(locale, LANGUAGES.get(locale, locale)) for locale in _every("locale", f.locale)],
        fit_choices=FIT_CHOICES,
        avoidable_choices=AVOIDABLE_CHOICES,
        churn_choices=CHURN_CHOICES,
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


def _every(column: str, chosen: str) -> list[str]:
    """Every value of a cancellation's `column`, whatever the filter narrows to: after picking an owner, one can still
    switch plan without resetting the owner first."""
    values = set(db.session.scalars(select(getattr(Cancellation, column)).distinct()))
    return sorted(value for value in values | {chosen} if value)


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
        for label, count in (
            ("Invited", t["invited"]),
            ("Link fetched", t["link_fetched"]),
            ("Opened by a person", t["opened"]),
            ("Answered", t["answered"]),
        )
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
    filtered = ", ".join(f"{name}={value}" for name, value in f.query_args().items())
    audit.record("insights.export", ("export", "insights.csv"), f"Exported the insights CSV for {filtered}.")
    db.session.commit()  # recorded before the first row leaves
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
    # Back to the same filter, rebuilt from what it parsed to: the raw query string would hand url_for its own
    # arguments (`_method`, `_scheme`, `_external`), choosing the redirect's form or failing.
    return redirect(url_for("insights.index", **_filter()[0].query_args()))
