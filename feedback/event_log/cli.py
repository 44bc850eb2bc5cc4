"""`flask webhooks`: outbound endpoints from the command line (the inbound Stripe and Mailgun ones have no CLI)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from feedback.event_log.operations import CannotReplay, InvalidEndpoint, add_endpoint, all_endpoints, remove_endpoint
from feedback.event_log.operations import replay as replay_delivery
from feedback.events.catalogue import COMING, EVENTS, KINDS
from feedback.events.delivery import deliver_all
from feedback.events.models import Delivery, WebhookEndpoint
from feedback.extensions import db

webhooks = AppGroup("webhooks", help="Outbound webhooks: the endpoints that hear Farewell's events.")


@webhooks.command("add")
@click.argument("url")
@click.option("--event", "events", multiple=True, help="An event it hears (repeat for more); none means all.")
@click.option("--kind", type=click.Choice(KINDS), default="standard", show_default=True)
@click.option("--include-answers", is_flag=True, help="Send the customer's own words (survey answers, replies).")
def add(url: str, events: tuple[str, ...], kind: str, include_answers: bool) -> None:
    """Add an endpoint; prints its id and, for a standard one, its signing secret (shown only this once)."""
    try:
        endpoint = add_endpoint(url, kind, list(events), include_answers)
    except InvalidEndpoint as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    click.echo(f"Endpoint {endpoint.id} added ({endpoint.kind}).")
    if endpoint.secret:
        click.echo(f"Signing secret (shown once; verify webhook-signature with it): {endpoint.secret}")


@webhooks.command("list")
@click.option("--events", "show_events", is_flag=True, help="List the event catalogue instead.")
def list_(show_events: bool) -> None:
    """Every endpoint: id, kind, state, what it hears and its URL."""
    if show_events:
        for name, meaning in EVENTS.items():
            click.echo(f"{name}{' (coming)' if name in COMING else ''}: {meaning}")
        return
    endpoints = all_endpoints()
    if not endpoints:
        click.echo("No endpoints. Add one with `flask webhooks add URL`.")
    for endpoint in endpoints:
        state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
        hears = ", ".join(endpoint.events) or "all events"
        answers = ", with answers" if endpoint.include_answers else ""
        click.echo(f"{endpoint.id}\t{endpoint.kind}\t{state}\t{hears}{answers}\t{endpoint.url}")


@webhooks.command("remove")
@click.argument("endpoint_id", type=int)
def remove(endpoint_id: int) -> None:
    """Remove an endpoint, with its deliveries and their attempts."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise click.ClickException(f"No endpoint {endpoint_id}; `flask webhooks list` shows them.")
    remove_endpoint(endpoint)
    db.session.commit()
    click.echo(f"Endpoint {endpoint_id} removed.")


@webhooks.command("replay")
@click.argument("delivery_id", type=int)
def replay(delivery_id: int) -> None:
    """Send a delivery again (same webhook-id) when the worker next runs."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise click.ClickException(f"No delivery {delivery_id}; the endpoint's page in Admin → Webhooks lists them.")
    try:
        replay_delivery(delivery)
    except CannotReplay as refused:
        raise click.ClickException(f"Not replayed: {refused}") from None
    db.session.commit()
    click.echo(f"Delivery {delivery_id} queued again ({delivery.webhook_id}).")


@webhooks.command("deliver")
def deliver() -> None:
    """Post every delivery that is due, once, and exit (`flask worker` does this on every pass)."""
    click.echo(f"Webhooks: {deliver_all()}.")
