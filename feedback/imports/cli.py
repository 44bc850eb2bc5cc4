"""`flask cancellations import`: the CSV import from the command line; the factory adds it to that group.

It stays synchronous, with the operations the worker uses, and shows progress bars on a terminal.
"""

from __future__ import annotations

import io
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from feedback.extensions import db
from feedback.formatting import plural
from feedback.imports.operations import ImportFailed, import_mail_waiting, import_rows, preview, queue_import_mail


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--customers", "kind", flag_value="customers", help="The file lists customers, not cancellations.")
@click.option("--cancellations", "kind", flag_value="cancellations", default=True, hidden=True)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--only-valid", is_flag=True, help="Import the valid rows even when others are bad.")
@with_appcontext
def import_(file: Any, kind: str, dry_run: bool, only_valid: bool) -> None:
    """Import cancellations (or customers) from a CSV file: all rows, or none unless --only-valid.

    Problems are printed by line. Exits 1 when any row is bad and nothing was imported.
    """
    data = file.read()
    # The length is a guess (a quoted cell may hold line breaks) until the file is read: the bar ends full.
    with click.progressbar(length=max(data.count(b"\n") - 1, 1), label="Checking", file=_terminal()) as bar:
        result = preview(kind, data, progress=bar.update)
        bar.update(max(bar.length - bar.pos, 0))
    for line, name, message in result.problems:
        click.echo(f"line {line}: {name}: {message}", err=True)
    for line, first, how in result.duplicates:
        click.echo(f"line {line}: repeats line {first} ({how}): left out", err=True)
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
        raise click.ClickException(f"Nothing was imported: {plural(bad, 'line has', 'lines have')} problems.{hint}")
    try:
        with click.progressbar(length=len(valid), label="Importing", file=_terminal()) as bar:
            imported = import_rows(kind, valid, progress=bar.update)
    except ImportFailed as failed:
        raise click.ClickException(f"Nothing was imported: {failed}") from None
    db.session.commit()
    skipped = f"; skipped {plural(len(result.bad_lines), 'bad row', 'bad rows')}" if result.problems else ""
    if result.duplicates:
        skipped += f"; left out {plural(len(result.duplicates), 'row', 'rows')} repeating an earlier one"
    click.echo(f"Imported {plural(imported, kind[:-1], kind)}{skipped}.")
    waiting = import_mail_waiting()
    if waiting:
        with click.progressbar(length=waiting, label="Queueing their emails", file=_terminal()) as bar:
            while count := queue_import_mail():
                db.session.commit()
                bar.update(count)


def _terminal() -> Any:
    """Progress bars go to standard error when it is a terminal, and nowhere otherwise (cron, tests, pipes)."""
    return sys.stderr if sys.stderr.isatty() else io.StringIO()
