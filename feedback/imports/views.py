"""Staff upload a CSV, see every problem by line, then import all rows (or only the valid ones); and export CSV."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectChoice

from feedback.cancellations.operations import visible_cancellations
from feedback.extensions import db
from feedback.imports.csvfiles import write_csv
from feedback.imports.operations import KINDS, SAMPLE_HEADERS, ImportFailed, Preview, import_rows, preview
from feedback.inputs.forms import InputForm
from feedback.signing import check, sign

blueprint = Blueprint("imports", __name__, url_prefix="/cancellations")

#: The checked rows travel from the preview to the confirmation signed, so the file needn't be uploaded twice.
PREVIEW_SALT = "csv-import-preview"
PREVIEW_MAX_AGE = 3600


class UploadForm(InputForm):
    kind = RadioField(
        "The file lists",
        choices=[SelectChoice("cancellations", "Cancellations"), SelectChoice("customers", "Customers")],
        default="cancellations",
    )
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])


class ConfirmForm(InputForm):
    payload = HiddenField()


@blueprint.route("/import", methods=["GET", "POST"])
@login_required
def upload() -> str | tuple[str, int]:
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(current_app.config["CSV_MAX_BYTES"] + 1)
        if len(data) > current_app.config["CSV_MAX_BYTES"]:
            form.file.errors = [f"The file is larger than {current_app.config['CSV_MAX_BYTES'] // 1024:,} KB."]
        else:
            kind = form.kind.data if form.kind.data in KINDS else "cancellations"
            result = preview(kind, data, current_user)
            payload = sign({"kind": result.kind, "rows": result.rows, "problems": result.problems}, PREVIEW_SALT)
            confirm = ConfirmForm(payload=payload)
            return render_template("imports/preview.html", result=result, form=confirm)
    status = 422 if form.errors else 200
    return render_template("imports/upload.html", form=form, sample_headers=SAMPLE_HEADERS), status


def _checked_preview() -> Preview:
    token = check(request.form.get("payload", ""), PREVIEW_SALT, max_age=PREVIEW_MAX_AGE)
    if token.invalid or token.expired:
        abort(400, "This preview has expired. Upload the file again.")
    data: dict[str, Any] = token.data
    rows = [(line, values) for line, values in data["rows"]]
    return Preview(data["kind"], rows, [tuple(problem) for problem in data["problems"]])  # type: ignore[misc]


@blueprint.post("/import/confirm")
@login_required
def confirm() -> Response:
    result = _checked_preview()
    only_valid = request.form.get("only_valid") == "yes"
    if result.file_problem or (result.problems and not only_valid):
        abort(400, "The file has problems; nothing was imported.")
    try:
        imported = import_rows(result.kind, result.valid_rows, current_user)
    except ImportFailed as failed:
        flash(f"Nothing was imported: {failed}", "error")
        return redirect(url_for("imports.upload"))
    db.session.commit()
    skipped = f" Skipped {len(result.bad_lines)} row(s) with problems." if result.problems else ""
    flash(f"Imported {imported} {result.kind}.{skipped}", "success")
    return redirect(url_for("cancellations.index"))


@blueprint.post("/import/errors.csv")
@login_required
def error_report() -> Response:
    result = _checked_preview()
    body = write_csv(("line", "field", "problem"), result.problems)
    return _csv_download(body, "import-problems.csv")


def _csv_download(body: str, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


EXPORT_HEADER = (
    "id",
    "state",
    "cancelled_at",
    "external_id",
    "name",
    "email",
    "company",
    "plan",
    "mrr",
    "customer_since",
    "owner_email",
    "reason",
    "complaint",
    "feedback",
    "comment",
    "source",
)


@blueprint.get("/export.csv")
@login_required
def export() -> Response:
    """The list's rules and filters (owners their own; state, owner=me) apply to the export too."""
    query = visible_cancellations(current_user, request.args.get("state", ""), request.args.get("owner") == "me")
    rows = (
        (
            c.id,
            c.state,
            c.cancelled_at.isoformat(),
            c.customer.external_id if c.customer else "",
            c.customer_name,
            c.customer_email,
            c.company,
            c.plan,
            c.mrr,
            c.customer_since.isoformat() if c.customer_since else "",
            c.owner.email,
            c.reason,
            c.complaint,
            c.feedback,
            c.comment,
            c.source,
        )
        for c in db.session.scalars(query.execution_options(yield_per=500))
    )
    return _csv_download(write_csv(EXPORT_HEADER, rows), "cancellations.csv")
