"""Admin → Integrations (/admin/integrations): which help desk is configured, how fetching goes, Test connection.

Credentials come from the environment and are never shown: the page names the settings, not their values.
Test connection is the one outbound call made in a request: an admin asked for it and waits for it, and it is one
search, bounded by the client's timeouts (5 s connect, 15 s read).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from feedback.auth.access import admin_required
from feedback.db import utcnow
from feedback.extensions import db
from feedback.helpdesk.configured import KNOWN, configured, connector_for, missing_settings
from feedback.helpdesk.http import HelpdeskError
from feedback.helpdesk.models import HelpdeskFetch
from feedback.jobs.models import JobRun

blueprint = Blueprint("integrations", __name__, url_prefix="/admin/integrations")

#: The test searches for an address no customer has: one request, no customer's data read.
PROBE = "farewell-connection-test@example.invalid"


@blueprint.get("/")
@admin_required
def index() -> str:
    desk = configured()
    last = db.session.scalar(
        select(HelpdeskFetch)
        .where(HelpdeskFetch.finished_at.is_not(None))
        .order_by(HelpdeskFetch.finished_at.desc(), HelpdeskFetch.id.desc())
        .limit(1)
    )
    waiting = db.session.scalar(select(func.count()).where(HelpdeskFetch.state == "queued")) or 0
    return render_template(
        "helpdesk/integrations.html",
        desk=desk,
        desks=[(d, missing_settings(d)) for d in KNOWN],
        last=last,
        waiting=waiting,
        job=db.session.get(JobRun, "helpdesk.fetch"),
    )


@blueprint.post("/test")
@admin_required
def test_connection() -> Response:
    desk = configured()
    if desk is None:
        flash("No help desk is configured: set the settings named below, then restart Farewell.", "error")
        return redirect(url_for("integrations.index"))
    connector = connector_for(desk.name)
    assert connector is not None
    try:
        connector.conversations(PROBE, utcnow() - timedelta(days=1))
    except HelpdeskError as error:
        flash(f"The test failed. {error.message}", "error")
    else:
        flash(f"{desk.label} answered: the credentials work and tickets can be searched.", "success")
    finally:
        connector.close()
    return redirect(url_for("integrations.index"))
