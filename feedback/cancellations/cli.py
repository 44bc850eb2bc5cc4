from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import click
from flask.cli import AppGroup

from feedback.cancellations.operations import InvalidCancellation, NewCancellation, log_cancellation
from feedback.extensions import db
from feedback.inputs.schemas import CANCELLATION

cancellations = AppGroup("cancellations", help="Log cancellations and import them from CSV.")

OPTION_NAMES = {
    "customer_name": "--customer-name",
    "customer_email": "--customer-email",
    "owner_email": "--owner-email",
    "company": "--company",
    "plan": "--plan",
    "mrr": "--mrr",
    "customer_since": "--customer-since",
    "reason": "--reason",
    "complaint": "--complaint",
    "locale": "--locale",
}
assert set(OPTION_NAMES) <= set(CANCELLATION), "every option is a field of the cancellation schema"


def _money(ctx: click.Context, param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount, e.g. 49.00") from None


@cancellations.command("log")
@click.option("--customer-name", required=True, help="The departing customer's name.")
@click.option("--customer-email", required=True, help="Where the exit survey goes.")
@click.option("--owner-email", required=True, help="The staff member who owned the relationship.")
@click.option("--company", default="", help="The customer's company.")
@click.option("--reason", default="", help="The reason given when cancelling.")
@click.option("--complaint", default="", help="What the customer complained about.")
@click.option("--plan", default="", help="The plan they were on.")
@click.option("--mrr", callback=_money, help="Monthly recurring revenue lost, e.g. 49.00.")
@click.option("--customer-since", type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--locale", default=None, help="The customer's language: en, de or fr (default: their browser's).")
def log(customer_since: dt.datetime | None, **options: str) -> None:
    """Log a cancellation, queue the exit survey and the review request, and print the new id."""
    data = NewCancellation(**options, customer_since=customer_since.date() if customer_since else None, source="cli")
    try:
        cancellation = log_cancellation(data, strict=True)
    except InvalidCancellation as invalid:
        lines = [f"{OPTION_NAMES.get(name, name)}: {message}" for name, message in invalid.errors.items()]
        raise click.ClickException("Nothing was logged.\n" + "\n".join(lines)) from None
    db.session.commit()
    click.echo(cancellation.id)
