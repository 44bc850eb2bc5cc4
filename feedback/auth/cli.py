import click
from flask.cli import AppGroup

from feedback.auth.operations import InvalidUser, create_user
from feedback.extensions import db

users = AppGroup("users", help="Manage staff accounts.")


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The staff member's full name.")
@click.option("--role", type=click.Choice(["admin", "owner"]), default="owner", show_default=True)
@click.option("--password", help="Prompted for (hidden) when not given.")
def create(email: str, name: str, role: str, password: str | None) -> None:
    """Create a staff account: an admin, or an account owner."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, name, role, password)
    except InvalidUser as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")
