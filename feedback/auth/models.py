from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from feedback.db import utcnow
from feedback.extensions import db

ROLES = ("admin", "owner")


class User(UserMixin, db.Model):
    """A staff member: an account owner who reviews their lost customers, or an admin."""

    __tablename__ = "users"
    #: Personal data (feedback.db.Model): Staff accounts: the staff member's own, not a customer's.
    personal_data = ()
    not_personal_data = ("email", "name", "role", "password_hash", "totp_secret")
    __table_args__ = (CheckConstraint("role IN ('admin', 'owner')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so that logins and owner look-ups ignore case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default="owner")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: Part of the id every session and remember cookie carries; bumping it ends all of them (logout, a new
    #: password, deactivation), where a signed cookie alone stays good until it expires.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The base32 TOTP secret once enrolment is confirmed; None: no second factor.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step accepted: a code is taken only for a later step, so each works once.
    totp_last_step: Mapped[int | None]

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: checked against the database on every request (`load_user`)."""
        return f"{self.id}:{self.session_generation}"

    def end_sessions(self) -> None:
        """Every session of this user, on every device, ends at its next request."""
        self.session_generation = (self.session_generation or 0) + 1

    def set_password(self, password: str) -> None:
        if self.password_hash is not None:
            self.end_sessions()  # a new password ends every session the old one opened
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginFailure(db.Model):
    """A login attempt not (yet) followed by a successful one, in the database so that the throttle holds across
    every process and restart. Written before the password is checked (see feedback.auth.throttle)."""

    __tablename__ = "login_failures"
    #: Personal data (feedback.db.Model): Sign-in attempts on staff accounts.
    personal_data = ()
    not_personal_data = ("email", "client_address")

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The address as typed (lower-cased), whether or not a staff member has it.
    email: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Where the attempt came from (the request's remote address), throttled as well as the address typed.
    client_address: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)


class RecoveryCode(db.Model):
    """One of the ten single-use codes given at enrolment, for a lost phone; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"
    #: Personal data (feedback.db.Model): A staff member's credential, hashed.
    personal_data = ()
    not_personal_data = ("code_hash",)
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 hex of the code: 80 random bits, so a fast hash is as good as a slow one (as for API tokens).
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
