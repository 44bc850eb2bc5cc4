"""Admins create, list and revoke API tokens at /admin/tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from feedback.api.scopes import SCOPES
from feedback.api.tokens import InvalidToken, create_token, list_tokens, revoke_token
from feedback.auth.access import admin_required
from feedback.extensions import db
from feedback.inputs.forms import InputForm

blueprint = Blueprint("tokens", __name__, url_prefix="/admin/tokens")


class TokenForm(InputForm):
    name = StringField(
        "Name", validators=[InputRequired("Name the token after the system that will use it."), Length(max=120)]
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(name, name) for name in SCOPES],
        validators=[InputRequired("Tick at least one scope: a token without one can do nothing.")],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


@blueprint.route("/", methods=["GET", "POST"])
@admin_required
def index() -> str | tuple[str, int]:
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            _, new_token = create_token(
                form.name.data or "", list(form.scopes.data or []), created_by=current_user._get_current_object()
            )
        except InvalidToken as error:  # a name of spaces only: InputRequired saw characters, the operation none
            form.name.errors = [*form.name.errors, str(error)]
        else:
            db.session.commit()
            form.name.data = ""
            form.scopes.data = []
    status = 422 if form.errors else 200
    return (
        render_template("api/tokens.html", form=form, tokens=list_tokens(), new_token=new_token, scopes=SCOPES),
        status,
    )


@blueprint.post("/<int:token_id>/revoke")
@admin_required
def revoke(token_id: int) -> Response:
    row = revoke_token(token_id)  # CSRFProtect has checked the form's token
    if row is None:
        abort(404)
    db.session.commit()
    flash(f"Revoked “{row.name}”. Requests with it now get a 401.", "success")
    return redirect(url_for("tokens.index"))
