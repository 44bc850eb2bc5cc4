"""`flask users deactivate EMAIL`: the staff page's Deactivate, for scripts that offboard people."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from feedback.auth.operations import InvalidUser, find_staff
from feedback.extensions import db
from feedback.staff.operations import set_active


@click.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate(email: str) -> None:
    """Deactivate a staff account: every session ends and no way of signing in works for it any more."""
    user = find_staff(email)
    if user is None:
        raise click.ClickException(f"No staff member has the address {email.strip().lower()}.")
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated already.")
    try:
        set_active(user, False, None)
    except InvalidUser as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Deactivated {user.email}: their sessions have ended and they can no longer sign in.")
