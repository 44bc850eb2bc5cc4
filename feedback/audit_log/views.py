"""GET /admin/audit: who changed what; there is no route that edits or deletes a row."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from feedback.audit.models import AuditEvent
from feedback.auth.access import admin_required
from feedback.extensions import db

blueprint = Blueprint("audit_log", __name__)

PER_PAGE = 50


@blueprint.get("/admin/audit")
@admin_required
def index() -> str:
    query = select(AuditEvent)
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip()
    target = request.args.get("target", "").strip()
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor.icontains(actor, autoescape=True))
    if target:
        kind, _, target_id = target.partition(":")
        query = query.where(AuditEvent.target_type == kind)
        if target_id:
            query = query.where(AuditEvent.target_id == target_id)
    page = db.paginate(query.order_by(AuditEvent.id.desc()), per_page=PER_PAGE, error_out=False)
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template(
        "audit_log/index.html", page=page, actions=actions, action=action, actor=actor, target=target
    )
