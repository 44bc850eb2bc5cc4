"""Which help desk this installation reads, from the environment's credentials (never shown, never stored)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from feedback.helpdesk.connector import Connector
from feedback.helpdesk.freshdesk import Freshdesk
from feedback.helpdesk.helpscout import HelpScout
from feedback.helpdesk.zendesk import Zendesk

#: A test hands its own transport (an httpx.MockTransport) to every client built here; None in production.
TRANSPORT_KEY = "HELPDESK_TEST_TRANSPORT"


@dataclass(frozen=True)
class HelpDesk:
    name: str
    label: str
    #: The settings that must all be set for it to be used, in the order the admin page names them.
    settings: tuple[str, ...]
    build: Callable[[dict[str, Any], int, Any], Connector]


KNOWN = (
    HelpDesk(
        "zendesk",
        "Zendesk",
        ("ZENDESK_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"),
        lambda c, limit, transport: Zendesk(
            c["ZENDESK_URL"], c["ZENDESK_EMAIL"], c["ZENDESK_API_TOKEN"], limit, transport
        ),
    ),
    HelpDesk(
        "freshdesk",
        "Freshdesk",
        ("FRESHDESK_URL", "FRESHDESK_API_KEY"),
        lambda c, limit, transport: Freshdesk(c["FRESHDESK_URL"], c["FRESHDESK_API_KEY"], limit, transport),
    ),
    HelpDesk(
        "helpscout",
        "Help Scout",
        ("HELPSCOUT_APP_ID", "HELPSCOUT_APP_SECRET", "HELPSCOUT_API_URL"),
        lambda c, limit, transport: HelpScout(
            c["HELPSCOUT_API_URL"], c["HELPSCOUT_APP_ID"], c["HELPSCOUT_APP_SECRET"], limit, transport
        ),
    ),
)
LABELS = {desk.name: desk.label for desk in KNOWN} | {"api": "the API"}


def configured() -> HelpDesk | None:
    """The first help desk whose settings are all set; None when there is none."""
    config = current_app.config
    for desk in KNOWN:
        if all(config.get(name) for name in desk.settings):
            return desk
    return None


def missing_settings(desk: HelpDesk) -> list[str]:
    return [name for name in desk.settings if not current_app.config.get(name)]


def connector_for(name: str) -> Connector | None:
    """A client of the named help desk, or None when it is no longer configured."""
    desk = configured()
    if desk is None or desk.name != name:
        return None
    config = current_app.config
    return desk.build(config, config["HELPDESK_MAX_RESPONSE_BYTES"], config.get(TRANSPORT_KEY))
