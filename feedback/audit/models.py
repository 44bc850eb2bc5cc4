from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import utcnow
from feedback.extensions import db


class AuditEvent(db.Model):
    """One change a staff member (or a command, or an API token) made."""

    __tablename__ = "audit_events"
    #: Personal data (feedback.db.Model): The actor and address are staff's; a detail may name the customer.
    personal_data = ("detail",)
    not_personal_data = ("actor", "action", "target_type", "target_id", "client_address")
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The staff member who acted; None for the command line, an API token or a scheduled job.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: Who acted, in words kept as they were then: "ada@acme.test", "command line", "API token 'CRM' (fw_abc…)".
    actor: Mapped[str] = mapped_column(String(300))
    #: A dotted verb: cancellation.log, review.submit, staff.role, customer.erase…
    action: Mapped[str] = mapped_column(String(60), index=True)
    #: The kind and id of the record acted on ("cancellation", "12"), or empty.
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    #: What changed, in a sentence; never a customer's own words.
    detail: Mapped[str] = mapped_column(Text, default="")
    #: The client's address (request.remote_addr) for web and API requests; empty otherwise.
    client_address: Mapped[str] = mapped_column(String(64), default="")
