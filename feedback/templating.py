"""Filters and globals the templates share."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale

from feedback.cancellations.models import STATE_LABELS
from feedback.customers.operations import tenure
from feedback.settings.operations import current_settings
from feedback.summaries.operations import answered_questions
from feedback.surveys.operations import STRIPE_MAIN_REASONS


def format_datetime(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return value.strftime("%-d %b %Y, %H:%M UTC") if with_time else value.strftime("%-d %b %Y")


def format_date(value: Any) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def format_money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def register(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_money, "money")
    app.add_template_global(answered_questions)
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
