from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.api.scopes import SCOPES
from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is kept, so the database can't leak usable tokens."""

    __tablename__ = "api_tokens"
    #: Personal data (feedback.db.Model): A staff member's token: its label and hash.
    personal_data = ()
    not_personal_data = ("name", "token_hash", "prefix")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: sha256 hex of the token: the token is 256 random bits, so a fast hash is as good as a slow one here.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters, so that staff can tell tokens apart in the list.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()
    granted: Mapped[list[ApiTokenScope]] = relationship(
        cascade="all, delete-orphan", order_by="ApiTokenScope.scope", lazy="selectin"
    )

    @property
    def scopes(self) -> list[str]:
        """The token's scopes, in the order SCOPES lists them."""
        held = {row.scope for row in self.granted}
        return [scope for scope in SCOPES if scope in held]


class ApiTokenScope(db.Model):
    """One thing a token may do; a row per scope, so that the database refuses a scope that does not exist."""

    __tablename__ = "api_token_scopes"
    #: Personal data (feedback.db.Model): Which operations a token may call.
    personal_data = ()
    not_personal_data = ("scope",)
    __table_args__ = (
        CheckConstraint("scope IN (" + ", ".join(f"'{name}'" for name in SCOPES) + ")", name="scope_known"),
    )

    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)


class IdempotentRequest(db.Model):
    """The first answer to an `Idempotency-Key`, replayed for retries of the same request."""

    __tablename__ = "idempotent_requests"
    #: Personal data (feedback.db.Model): The first answer, replayed: it describes the customer the request named.
    personal_data = ("response_body",)
    not_personal_data = ("key", "request_hash")
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotent_requests_token_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: sha256 of method, path and body: the same key with another request is a client bug, answered 409.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
