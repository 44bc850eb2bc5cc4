"""The one line in words above each view: what a person would say after looking at the chart."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import get_locale

from feedback.formatting import format_money, number, plural
from feedback.insights.queries import Report, Share
from feedback.settings.operations import current_settings


def money(value: Decimal | None) -> str:
    """An amount in the company's currency, as the cards write it ("€1,404.50"): never a bare number."""
    return format_money(value, current_settings().currency, str(get_locale() or "en"))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    """'3 hours', '2.5 days': the median as a person says it."""
    if seconds is None:
        return "—"
    hours = seconds / 3600
    if hours < 1:
        return f"{max(seconds / 60, 1):.0f} min"
    if hours < 48:
        return f"{hours:.1f} hours".replace(".0 ", " ")
    return f"{hours / 24:.1f} days".replace(".0 ", " ")


def _times(agreed: int, compared: int) -> str:
    """ "1 time in 1", "3 times in 4": the counts with their plurals, as a person says them."""
    return f"{plural(agreed, 'time', 'times')} in {number(compared)}"


def _change(now: int | Decimal, before: int | Decimal) -> str:
    if not before:
        return "with none in the period before" if not now else "up from none in the period before"
    change = (Decimal(now) - Decimal(before)) / Decimal(before)
    if abs(change) < Decimal("0.005"):
        return "the same as the period before"
    return f"{abs(change) * 100:.0f}% {'more' if change > 0 else 'fewer'} than the period before"


def _lead(shares: list[Share], what: str) -> str:
    if not shares:
        return f"No {what} in this period yet."
    top = shares[0]
    return f"“{top.label}” leads: {top.count:,} ({percent(top.share)}), {money(top.mrr_lost)} MRR lost."


def takeaways(report: Report) -> dict[str, str]:
    t, previous = report.totals, report.previous
    agreement = report.agreement
    if agreement["compared"]:
        agree = f"Owners named the customer's own reason {_times(agreement['agreed'], agreement['compared'])}"
        if agreement["differences"]:
            d = agreement["differences"][0]
            agree += f"; they differ most where the customer said “{d['customer']}” and the owner “{d['owner']}”."
        else:
            agree += "."
    else:
        agree = (
            "Once owners answer “In your view, what was the main reason?”, their view appears beside the customer's."
        )
    not_fit = next((share for share in report.fit if share.label == "No, not a fit"), None)
    splits = max(report.plans, key=lambda share: share.mrr_lost, default=None)
    words = [entry for entry in report.feed if entry["final_straw"] or entry["could_have_done"] or entry["reply"]]
    return {
        "periods": (
            f"{t['cancellations']:,} cancellations took {money(t['mrr_lost'])} of MRR: "
            f"{_change(t['cancellations'], previous['cancellations'])}."
        ),
        "reasons": _lead(report.reasons, "answers"),
        "agreement": agree,
        "over_time": (
            f"The top reasons week by week{' (month by month)' if report.filter.by_month else ''}: "
            "a reason that grows is the one to act on first."
        ),
        "splits": (
            f"The {splits.label or 'no-plan'} plan lost the most MRR: {money(splits.mrr_lost)}."
            if splits
            else "No cancellations to split yet."
        ),
        "fit": (
            f"{percent(not_fit.share)} of reviewed losses were not a fit for the ideal customer profile"
            f"{': time to reassess who we sell to.' if not_fit.share and not_fit.share >= 0.25 else '.'}"
            if not_fit
            else "Once owners review their losses, the ICP fit of each appears here."
        ),
        "avoidable": (
            f"Owners judged {percent(report.avoidable[0].share)} of reviewed losses avoidable."
            if report.avoidable and report.avoidable[0].label == "Yes"
            else "No loss judged avoidable in this period."
            if report.avoidable
            else "Once owners review their losses, whether each was avoidable appears here."
        ),
        "funnel": (
            f"{percent(t['response_rate'])} of invited customers answered, in a median of "
            f"{duration(t['median_answer_seconds'])}; owners reviewed {percent(t['review_rate'])} of losses, "
            f"in a median of {duration(t['median_review_seconds'])}."
        ),
        "likelihood": (
            f"{percent(report.follow_up.share)} allow a follow-up: they are the customers to write to first."
        ),
        "feed": f"The newest {len(words)} of what customers wrote." if words else "No written answers in this period.",
    }
