"""Filters and globals the templates share."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale

from feedback.customers.operations import tenure
from feedback.formatting import format_date, format_datetime, format_money, number, plural
from feedback.postmortem.models import STATE_LABELS
from feedback.settings.operations import current_settings
from feedback.summaries.operations import answered_questions
from feedback.surveys.operations import STRIPE_MAIN_REASONS, reply_address


def retention_months() -> int:
    """RETENTION_MONTHS, 0 when unset: what the survey tells customers about how long their answers are kept."""
    return current_app.config.get("RETENTION_MONTHS") or 0


def money(value: Decimal | None, currency: str | None = None) -> str:
    """MRR in its own currency (¥5,000, $49.00), else the company's (Admin → Settings, else CURRENCY), written as the
    reader's language does."""
    return format_money(value, currency or current_settings().currency, str(get_locale() or "en"))


def register(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(money, "money")
    app.add_template_filter(plural, "plural")  # {{ n|plural("email", "emails") }}: "1 email", "5,000 emails"
    app.add_template_filter(number, "number")
    app.add_template_global(answered_questions)
    app.add_template_global(reply_address)  # customer pages outside the surveys blueprint too (the editor's preview)
    app.add_template_global(retention_months)
    app.add_template_global(lambda: str(get_locale() or "en"), "current_locale")
    app.add_template_filter(tenure, "tenure")
    app.add_template_filter(lambda value: STRIPE_MAIN_REASONS.get(value, value), "stripe_feedback")

    @app.context_processor
    def globals_() -> dict[str, Any]:
        return {
            "company_name": current_settings().company_name,
            "site_settings": current_settings(),
            "state_labels": STATE_LABELS,
            "local_mailbox": current_app.config["MAIL_BACKEND"] == "local",
            "now": datetime.now(UTC),
        }
