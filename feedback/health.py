from flask import Blueprint, current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from feedback.db import utcnow
from feedback.extensions import db
from feedback.jobs.models import JobRun
from feedback.mail.models import OutboxMessage
from feedback.security import limit_storage_health

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[dict[str, object], int]:
    """For load balancers (200/503 on the database) and monitors (a stuck worker shows in the ages)."""
    try:
        db.session.execute(text("SELECT 1"))
        now = utcnow()
        oldest_due = db.session.scalar(
            select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == "queued", OutboxMessage.due_at <= now)
        )
        jobs = db.session.scalars(select(JobRun).order_by(JobRun.name)).all()
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {
        "status": "ok",
        "database": "ok",
        "rate_limits": limit_storage_health(current_app),
        "outbox": {"oldest_due_seconds": round((now - oldest_due).total_seconds()) if oldest_due else 0},
        "jobs": {
            job.name: {
                "last_finished_at": job.last_finished_at.isoformat() if job.last_finished_at else None,
                "last_outcome": job.last_outcome,
                "next_due_at": job.next_due_at.isoformat(),
            }
            for job in jobs
        },
    }, 200
