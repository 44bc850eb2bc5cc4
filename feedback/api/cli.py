import click
from flask.cli import AppGroup

from feedback.api.scopes import SCOPES
from feedback.api.tokens import InvalidToken, create_token, list_tokens, revoke_token
from feedback.extensions import db
from feedback.formatting import format_datetime

tokens = AppGroup("tokens", help="Manage API tokens.")


@tokens.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(list(SCOPES)),
    help="What the token may do; repeat for several. " + " ".join(f"{name}: {about}" for name, about in SCOPES.items()),
)
def create(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API token allowed the given scopes; it is printed once, alone on the last line."""
    try:
        row, token = create_token(name, scopes)
    except InvalidToken as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"Created API token {row.id} ({row.name}) with {', '.join(row.scopes)}. Store it now: it is not shown again."
    )
    click.echo(token)


@tokens.command("list")
def list_() -> None:
    """List tokens with their last use."""
    for row in list_tokens():
        used = format_datetime(row.last_used_at) if row.last_used_at else "never used"
        status = f"revoked {format_datetime(row.revoked_at)}" if row.revoked_at else "active"
        click.echo(f"{row.id}\t{row.name}\t{row.prefix}…\t{status}\tlast used: {used}\t{' '.join(row.scopes)}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke a token by its id: requests with it get a 401 from now on."""
    if revoke_token(token_id) is None:
        raise click.ClickException(f"No API token has the id {token_id}.")
    db.session.commit()
    click.echo(f"Revoked API token {token_id}.")
