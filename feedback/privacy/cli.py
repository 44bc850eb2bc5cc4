"""flask customers export EMAIL / erase EMAIL: the privacy requests an admin handles from a terminal."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from feedback.extensions import db
from feedback.formatting import plural
from feedback.privacy.erasure import NothingToErase, erase_person
from feedback.privacy.export import export_person
from feedback.privacy.records import find_person

customers = AppGroup("customers", help="A customer's personal data: export it, erase it.")


@customers.command("export")
@click.argument("email")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Where to write the JSON (default: stdout).")
def export(email: str, output: click.utils.LazyFile) -> None:
    """Write everything Farewell holds about EMAIL as one JSON document."""
    person = find_person(email)
    if not person.found:
        raise click.ClickException(f"No customer or cancellation has the address {person.email}.")
    document = export_person(person)
    db.session.commit()  # the audit row
    json.dump(document, output, indent=2, ensure_ascii=False)
    output.write("\n")
    if output is not sys.stdout and getattr(output, "name", "-") != "-":
        click.echo(f"Wrote {output.name}.", err=True)


@customers.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@click.option("--why", default="", help="Noted in the audit trail, e.g. the ticket of the request.")
def erase(email: str, yes: bool, why: str) -> None:
    """Erase EMAIL's name, address, company, own words and emails; keep the anonymous facts."""
    person = find_person(email)
    if not person.found:
        raise click.ClickException(f"No customer or cancellation has the address {person.email}.")
    if not yes:
        click.confirm(
            f"Erase {plural(len(person.customers), 'customer record', 'customer records')} and "
            f"{plural(len(person.cancellations), 'cancellation', 'cancellations')} "
            f"of {person.email}? This cannot be undone",
            abort=True,
        )
    try:
        erased = erase_person(email, why)
    except NothingToErase as nothing:
        raise click.ClickException(str(nothing)) from None
    db.session.commit()
    click.echo(f"Erased {erased}.")
