from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from feedback.auth.access import admin_required
from feedback.extensions import db
from feedback.settings.forms import SettingsForm
from feedback.settings.operations import defaults, save_settings, stored_settings

blueprint = Blueprint("settings", __name__, url_prefix="/admin/settings")


@blueprint.route("/", methods=["GET", "POST"])
@admin_required
def edit() -> str | Response | tuple[str, int]:
    form = SettingsForm(data=stored_settings() if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip()
        save_settings(values, current_user.id)
        db.session.commit()
        flash("Settings saved. New invitations and emails use them from now on.", "success")
        return redirect(url_for("settings.edit"))
    status = 422 if form.errors else 200
    return render_template("settings/edit.html", form=form, defaults=defaults()), status
