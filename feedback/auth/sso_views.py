"""`/login/sso`: off to the OpenID provider and back; the staff member is matched by verified email."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import login_user
from werkzeug.wrappers import Response

from feedback import audit
from feedback.auth import sso
from feedback.auth.operations import create_user, find_staff, record_sign_in
from feedback.auth.views import safe_next
from feedback.db import utcnow
from feedback.extensions import db

blueprint = Blueprint("sso", __name__, url_prefix="/login/sso")


def _callback_url() -> str:
    return url_for("sso.callback", _external=True)


@blueprint.get("/")
def start() -> Response:
    if not sso.enabled():
        abort(404)
    try:
        return redirect(sso.authorization_url(_callback_url(), safe_next(request.args.get("next"))))
    except sso.SignInRefused as refused:
        return _refuse(str(refused))


def _refuse(message: str, user: object = None) -> Response:
    record_sign_in(user, "sso")  # type: ignore[arg-type]
    db.session.commit()
    flash(message, "error")
    return redirect(url_for("auth.login"))


@blueprint.get("/callback")
def callback() -> Response:
    if not sso.enabled():
        abort(404)
    try:
        identity, destination = sso.finish(request.args.to_dict(), _callback_url())
    except sso.SignInRefused as refused:
        return _refuse(str(refused))
    user = find_staff(identity.email)
    config = current_app.config
    if user is None:
        domain = identity.email.rsplit("@", 1)[1]
        if domain not in config["OIDC_ALLOWED_DOMAINS"]:
            return _refuse(f"No staff account has {identity.email}. Ask an admin to invite you.")
        user = create_user(identity.email, identity.name, "owner", None)
        audit.record("staff.create_by_sso", user, f"Created {user.email} at their first single sign-on.", actor=user)
    if not user.active:
        return _refuse("That account is deactivated.", user)
    admin = sso.admin_by_claim(identity.claims)
    role = user.role if admin is None else ("admin" if admin else "owner")
    if role != user.role:
        audit.record(
            "staff.role", user, f"{user.email} is now {role} ({config['OIDC_ROLES_CLAIM']}).", by="single sign-on"
        )
        user.role = role
    session.clear()
    login_user(user)
    user.last_login_at = utcnow()
    record_sign_in(user, how=f"single sign-on ({config['OIDC_NAME']})")
    db.session.commit()
    return redirect(destination or url_for("cancellations.index"))
