from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from flask.cli import AppGroup

from feedback.cancellations.operations import InvalidCancellation, NewCancellation, log_cancellation

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
        cancellation = log_cancellation(data)
    except InvalidCancellation as invalid:
        lines = [f"{OPTION_NAMES.get(name, name)}: {message}" for name, message in invalid.errors.items()]
        raise click.ClickException("Nothing was logged.\n" + "\n".join(lines)) from None
    click.echo(cancellation.id)


@cancellations.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--customers", "kind", flag_value="customers", help="The file lists customers, not cancellations.")
@click.option("--cancellations", "kind", flag_value="cancellations", default=True, hidden=True)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--only-valid", is_flag=True, help="Import the valid rows even when others are bad.")
def import_(file: Any, kind: str, dry_run: bool, only_valid: bool) -> None:
    """Import cancellations (or customers) from a CSV file: all rows, or none unless --only-valid.

    Problems are printed by line. Exits 1 when any row is bad and nothing was imported.
    """
    from feedback.imports.operations import ImportFailed, import_rows, preview

    result = preview(kind, file.read())
    for line, name, message in result.problems:
        click.echo(f"line {line}: {name}: {message}", err=True)
    valid = result.valid_rows
    if dry_run:
        if result.file_problem:
            click.echo("Dry run: the file itself can't be imported (see above); nothing was written.")
        else:
            click.echo(f"Dry run: {len(valid)} of {len(result.rows)} rows are valid; nothing was written.")
        if result.problems:
            raise SystemExit(1)
        return
    if result.file_problem or (result.problems and not only_valid):
        bad = len(result.bad_lines)
        hint = "" if result.file_problem else " Fix them, or pass --only-valid to import the others."
        raise click.ClickException(f"Nothing was imported: {bad} line(s) have problems.{hint}")
    try:
        imported = import_rows(kind, valid)
    except ImportFailed as failed:
        raise click.ClickException(f"Nothing was imported: {failed}") from None
    skipped = f"; skipped {len(result.bad_lines)} bad row(s)" if result.problems else ""
    click.echo(f"Imported {imported} {kind}{skipped}.")
