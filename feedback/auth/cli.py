import click
from flask.cli import AppGroup

from feedback import audit
from feedback.auth.operations import InvalidUser, create_user, find_staff, password_problem
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


@users.command("set-password")
@click.argument("email")
@click.option("--password", help="Prompted for (hidden) when not given.")
def set_password(email: str, password: str | None) -> None:
    """Break glass: give a staff member a password (the provider is down, or OIDC_ONLY locked everyone out)."""
    user = find_staff(email)
    if user is None:
        raise click.ClickException(f"No staff member has the address {email.strip().lower()}.")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, user.email)
    if problem:
        raise click.ClickException(problem)
    user.set_password(password)
    audit.record("staff.set_password", user, f"Set the password of {user.email} from the command line.")
    db.session.commit()
    click.echo(f"Set the password of {user.email}; their other sessions have ended.")
