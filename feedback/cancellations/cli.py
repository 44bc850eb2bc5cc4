from __future__ import annotations

from typing import Any

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


@cancellations.command("log")
# Required options and typed values are checked by the cancellation's own rules, not by click: click stops at the
# first problem, and a person fixing a command wants every problem of it at once, as the form shows them.
@click.option("--customer-name", default="", help="The departing customer's name (required).")
@click.option("--customer-email", default="", help="Where the exit survey goes (required).")
@click.option("--owner-email", default="", help="The staff member who owned the relationship (required).")
@click.option("--company", default="", help="The customer's company.")
@click.option("--reason", default="", help="The reason given when cancelling.")
@click.option("--complaint", default="", help="What the customer complained about.")
@click.option("--plan", default="", help="The plan they were on.")
@click.option("--mrr", default="", help="Monthly recurring revenue lost, e.g. 49.00.")
@click.option("--customer-since", default="", help="YYYY-MM-DD")
@click.option("--locale", default=None, help="The customer's language: en, de or fr (default: their browser's).")
def log(**options: Any) -> None:
    """Log a cancellation, queue the exit survey and the review request, and print the new id."""
    data = NewCancellation(**options, source="cli")  # the text of --mrr and --customer-since, checked with the rest
    try:
        cancellation = log_cancellation(data, strict=True)
    except InvalidCancellation as invalid:
        lines = [f"{OPTION_NAMES.get(name, name)}: {message}" for name, message in invalid.errors.items()]
        raise click.ClickException("Nothing was logged.\n" + "\n".join(lines)) from None
    db.session.commit()
    click.echo(cancellation.id)
