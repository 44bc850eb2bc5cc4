"""GET /api/v1/insights: the insights page's numbers as JSON, for the same filter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from feedback.insights.filters import Filter
from feedback.insights.queries import Report, Share


def _money(value: Decimal) -> float:
    """In the currency's main unit, as a number, as elsewhere in the API."""
    return float(value)


def _reasons(shares: list[Share]) -> list[dict[str, Any]]:
    return [
        {"reason": share.label, "count": share.count, "share": share.share, "mrr_lost": _money(share.mrr_lost)}
        for share in shares
    ]


def _groups(shares: list[Share]) -> list[dict[str, Any]]:
    return [
        {"value": share.label, "count": share.count, "share": share.share, "mrr_lost": _money(share.mrr_lost)}
        for share in shares
    ]


def filter_json(f: Filter) -> dict[str, Any]:
    return {"since": f.since.isoformat(), "until": f.until.isoformat(), **f.query_args(since="", until="")}


def insights_json(report: Report) -> dict[str, Any]:
    t = report.totals
    return {
        "filter": filter_json(report.filter),
        "totals": {
            "cancellations": t["cancellations"],
            "mrr_lost": _money(t["mrr_lost"]),
            "invited": t["invited"],
            "link_fetched": t["link_fetched"],
            "opened": t["opened"],
            "answered": t["answered"],
            "reviewed": t["reviewed"],
            "avoidable": t["avoidable"],
            "response_rate": t["response_rate"],
            "review_rate": t["review_rate"],
            "median_answer_seconds": t["median_answer_seconds"],
            "median_review_seconds": t["median_review_seconds"],
        },
        "previous": {
            "cancellations": report.previous["cancellations"],
            "mrr_lost": _money(report.previous["mrr_lost"]),
        },
        "periods": [
            {"start": b.start.isoformat(), "cancellations": b.cancellations, "mrr_lost": _money(b.mrr_lost)}
            for b in report.periods
        ],
        "reasons": _reasons(report.reasons),
        "owner_reasons": _reasons(report.owner_reasons),
        "stripe_feedback": _groups(report.stripe_reasons),
        "churn": [{**group, "value": group["value"].lower()} for group in _groups(report.churn)],
        "agreement": report.agreement,
        "plans": _groups(report.plans),
        "tenure": _groups(report.tenure),
        "mrr_bands": _groups(report.mrr_bands),
        "icp_fit": _groups(report.fit),
        "avoidable": _groups(report.avoidable),
        "return_likelihood": [{"score": int(s.label), "count": s.count, "share": s.share} for s in report.likelihood],
        "follow_up": {"count": report.follow_up.count, "share": report.follow_up.share},
    }
