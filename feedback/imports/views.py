"""Staff upload a CSV, see every problem by line, then import all rows (or only the valid ones); and export CSV."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import RadioField, SelectChoice

from feedback import audit
from feedback.cancellations.operations import visible_cancellations
from feedback.extensions import db
from feedback.formatting import plural
from feedback.imports.csvfiles import write_csv
from feedback.imports.models import ImportRun
from feedback.imports.operations import KINDS, SAMPLE_HEADERS
from feedback.imports.runs import confirm_run, discard_run, mail_waiting_for, start_run
from feedback.inputs.forms import InputForm

blueprint = Blueprint("imports", __name__, url_prefix="/cancellations")

#: The page lists this many problems; the CSV report has every one.
PROBLEMS_SHOWN = 200
#: Seconds between two reloads of a page still waiting for the worker, without JavaScript.
REFRESH_SECONDS = 3


class UploadForm(InputForm):
    kind = RadioField(
        "The file lists",
        choices=[SelectChoice("cancellations", "Cancellations"), SelectChoice("customers", "Customers")],
        default="cancellations",
    )
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])


class ConfirmForm(InputForm):
    """Only its CSRF token: CSRFProtect checks every POST."""


@blueprint.route("/import", methods=["GET", "POST"])
@login_required
def upload() -> Response | tuple[str, int]:
    """The file is stored and the worker checks it; the upload returns at once, to the page that shows how far."""
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(current_app.config["CSV_MAX_BYTES"] + 1)
        if len(data) > current_app.config["CSV_MAX_BYTES"]:
            form.file.errors = [f"The file is larger than {current_app.config['CSV_MAX_BYTES'] // 1024:,} KB."]
        else:
            kind = form.kind.data if form.kind.data in KINDS else "cancellations"
            run = start_run(kind, data, form.file.data.filename or "", current_user)
            db.session.commit()
            return redirect(url_for("imports.run", run_id=run.id), 303)
    status = 422 if form.errors else 200
    return render_template("imports/upload.html", form=form, sample_headers=SAMPLE_HEADERS), status


def _own_run(run_id: int) -> ImportRun:
    """Uploaders see their own imports; admins everyone's."""
    run = db.session.get(ImportRun, run_id)
    if run is None:
        abort(404, "There is no such import.")
    if run.uploaded_by_id != current_user.id and not current_user.is_admin:
        abort(403, "This import was uploaded by a colleague.")
    return run


def progress(run: ImportRun) -> dict[str, Any]:
    """The run as the page and its script show it; `done` once the worker has nothing left to do with it."""
    importing = run.status in ("confirmed", "importing", "imported")
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "total_rows": run.total_rows,
        "checked_rows": run.checked_rows,
        "valid_rows": run.valid_count if run.status not in ("uploaded", "checking") else None,
        "problem_lines": len(run.bad_lines),
        "duplicate_lines": len(run.duplicate_lines),
        "imported_rows": run.imported_rows,
        # What the bar measures: rows checked of all, then rows written of those to write.
        "value": run.imported_rows if importing else run.checked_rows,
        "max": run.valid_count if importing else run.total_rows,
        "done": not run.busy,
        "error": run.error,
    }


@blueprint.get("/import/<int:run_id>")
@login_required
def run(run_id: int) -> Response:
    run = _own_run(run_id)
    page = render_template(
        "imports/run.html",
        run=run,
        progress=progress(run),
        problems=run.problems[:PROBLEMS_SHOWN],
        problems_shown=PROBLEMS_SHOWN,
        mail_waiting=mail_waiting_for(run) if run.status == "imported" else 0,
        form=ConfirmForm(),
        refresh_seconds=REFRESH_SECONDS,
    )
    response = Response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/import/<int:run_id>/status")
@login_required
def status(run_id: int) -> Response:
    """What the progress bar's script polls."""
    response = jsonify(progress(_own_run(run_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/import/<int:run_id>/confirm")
@login_required
def confirm(run_id: int) -> Response:
    """The worker imports the file next, all rows or none (or only the valid ones, when chosen)."""
    run = _own_run(run_id)
    if run.status != "checked":
        abort(409, "This import was already confirmed, or is still being checked.")
    only_valid = request.form.get("only_valid") == "yes"
    if run.file_problem or (run.problems and not only_valid) or run.valid_count == 0:
        abort(400, "The file has problems; nothing was imported.")
    confirm_run(run, only_valid)
    db.session.commit()
    return redirect(url_for("imports.run", run_id=run.id), 303)


@blueprint.post("/import/<int:run_id>/discard")
@login_required
def discard(run_id: int) -> Response:
    """The uploader changed their mind: the file (rows of customers) is not kept waiting for a confirmation."""
    run = _own_run(run_id)
    if not discard_run(run, "Discarded by the uploader: the file is deleted."):
        abort(409, "This import was already confirmed, or the worker is checking it; it can't be discarded now.")
    db.session.commit()
    return redirect(url_for("imports.run", run_id=run.id), 303)


@blueprint.get("/import/<int:run_id>/errors.csv")
@login_required
def error_report(run_id: int) -> Response:
    body = write_csv(("line", "field", "problem"), _own_run(run_id).problems)
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
    """The list's rules and filters (owners their own; state, owner=me) apply to the export too.

    A bulk disclosure of customers' addresses and words, so it goes into the audit trail (committed before the
    first row leaves).
    """
    state, mine = request.args.get("state", ""), request.args.get("owner") == "me"
    query = visible_cancellations(current_user, state, mine)
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    narrowed = ", ".join(part for part in (f"state {state}" if state else "", "own only" if mine else "") if part)
    exported = plural(count, "cancellation", "cancellations")
    audit.record(
        "cancellations.export",
        ("export", "cancellations.csv"),
        f"Exported {exported} as CSV{f' ({narrowed})' if narrowed else ''}.",
    )
    db.session.commit()
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
