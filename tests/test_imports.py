"""CSV: preview naming every bad line, all-or-nothing imports, the CLI, exports with formulas neutralised."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_DATABASE_URL, csrf_token, deliver, log, run_jobs
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from feedback.db import utcnow
from feedback.extensions import db
from feedback.imports.csvfiles import neutralise, write_csv
from feedback.imports.operations import SAMPLE_HEADERS
from feedback.postmortem.models import Cancellation, Customer

HEADER = SAMPLE_HEADERS["cancellations"]
GOOD = (
    "cus_1,Ann Able,ann@a.test,A Co,Team,49,2024-01-02,olivia@acme.test,en,Budget,,"
    '2026-11-01T10:00:00Z,too_expensive,"=1+2"'
)
BAD = "cus_2,Bob,not-an-email,,,abc,,nobody@acme.test,,,,,bored,"
GOOD_2 = "cus_3,Cy,cy@c.test,,,,,olivia@acme.test,,,,,,"


def count(app: Flask, model: Any = Cancellation) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


_clock = itertools.count(1)


def work(app: Flask) -> dict[str, str]:
    """One pass of the worker's jobs, a little later each time so that imports.work (every 5 s) is due."""
    return run_jobs(app, utcnow() + timedelta(seconds=10 * next(_clock)))


def upload(client: FlaskClient, text: str, kind: str = "cancellations") -> Any:
    """Uploads the file, lets the worker check it, and returns the import's page."""
    page = client.get("/cancellations/import")
    data = {"csrf_token": csrf_token(page.text), "kind": kind, "file": (io.BytesIO(text.encode()), "x.csv")}
    uploaded = client.post("/cancellations/import", data=data, content_type="multipart/form-data")
    assert uploaded.status_code == 303, uploaded.text
    work(client.application)
    return client.get(uploaded.headers["Location"])


def confirm(client: FlaskClient, page: Any, **form: str) -> Any:
    """Presses the page's import button, lets the worker import, and returns the import's page."""
    response = client.post(page.request.path + "/confirm", data={"csrf_token": csrf_token(page.text), **form})
    if response.status_code != 303:
        return response
    work(client.application)
    return client.get(response.headers["Location"])


def test_preview_names_every_bad_line_and_writes_nothing(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    page = upload(client, "\n".join([HEADER, GOOD, BAD, GOOD_2]) + "\n")
    assert page.status_code == 200
    text = page.text
    for expected in ("An email address must have an @-sign", "Must be a number", "No staff member has the address"):
        assert expected in text
    assert '<td data-label="Line" class="keep-label">3</td>' in text and 'keep-label">2</td>' not in text
    assert "Import only the 2 valid rows" in text
    assert count(app) == 0

    # The all-or-nothing button isn't offered; forcing it is refused.
    refused = confirm(client, page)
    assert refused.status_code == 400 and count(app) == 0

    report = client.get(page.request.path + "/errors.csv")
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["line", "field", "problem"] and {row[0] for row in rows[1:]} == {"3"}

    done = confirm(client, page, only_valid="yes")
    assert "Imported 2 cancellations. Skipped 1 row with problems." in done.text
    assert count(app) == 2 and count(app, Customer) == 2


def test_a_valid_file_imports_everything(app: Flask, client: FlaskClient, logged_in_owner: Any, smtp: Any) -> None:
    page = upload(client, "\n".join([HEADER, GOOD, GOOD_2]))
    assert "Ready to import" in page.text
    status = client.get(page.request.path + "/status").json
    assert {k: status[k] for k in ("status", "total_rows", "checked_rows", "valid_rows", "done")} == {
        "status": "checked",
        "total_rows": 2,
        "checked_rows": 2,
        "valid_rows": 2,
        "done": True,
    }
    done = confirm(client, page)
    assert "Imported 2 cancellations." in done.text
    assert count(app) == 2
    assert client.get(page.request.path + "/status").json["imported_rows"] == 2
    deliver(app)
    assert smtp.one("ann@a.test", "Thank you")
    assert (
        "2 cancellations imported"
        in smtp.one(logged_in_owner["email"], "Your CSV import is done").get_body(("plain",)).get_content()
    )


def test_the_page_waits_for_the_worker_and_refreshes_itself(app: Flask, client: FlaskClient, logged_in_owner: Any):
    page = client.get("/cancellations/import")
    data = {"csrf_token": csrf_token(page.text), "file": (io.BytesIO(f"{HEADER}\n{GOOD}\n".encode()), "x.csv")}
    uploaded = client.post("/cancellations/import", data=data, content_type="multipart/form-data")
    waiting = client.get(uploaded.headers["Location"])
    assert "Checking the file" in waiting.text and '<progress id="import-progress"' in waiting.text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in waiting.text
    assert "import-progress.js" in waiting.text and count(app) == 0
    assert client.get(uploaded.headers["Location"] + "/status").json["done"] is False
    work(app)
    checked = client.get(uploaded.headers["Location"])
    assert "Ready to import" in checked.text and "http-equiv" not in checked.text


def test_a_failed_import_writes_nothing_and_says_why(
    app: Flask, client: FlaskClient, owner: Any, admin: Any, smtp: Any
) -> None:
    from conftest import AuthActions

    AuthActions(client).login(admin["email"])
    page = upload(client, "\n".join([HEADER, GOOD, GOOD_2]))
    with app.app_context():  # the owner of both rows leaves between the check and the import
        from feedback.auth.models import User

        db.session.execute(db.update(User).values(active=False).where(User.email == "olivia@acme.test"))
        db.session.commit()
    failed = confirm(client, page)
    assert "Nothing was imported: line 2: owner_email:" in failed.text and count(app) == 0
    assert count(app, Customer) == 0
    deliver(app)
    assert (
        "nothing was imported" in smtp.one(admin["email"], "Your CSV import failed").get_body(("plain",)).get_content()
    )


def test_a_colleagues_import_is_theirs_and_confirms_once(
    app: Flask, client: FlaskClient, logged_in_owner: Any, other_owner: Any
) -> None:
    from conftest import AuthActions

    page = upload(client, "\n".join([HEADER, GOOD]))
    done = confirm(client, page)
    assert "Imported 1 cancellation." in done.text
    again = client.post(page.request.path + "/confirm", data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 409 and count(app) == 1
    AuthActions(client).logout()
    AuthActions(client).login(other_owner["email"])
    assert client.get(page.request.path).status_code == 403
    assert client.get(page.request.path + "/status").status_code == 403
    assert client.get("/cancellations/import/999").status_code == 404


def test_customers_and_header_problems(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    page = upload(client, "external_id,name,email,mrr\ncus_9,Dee,dee@d.test,12.5\n,No id,,\n", kind="customers")
    assert "Give the customer&#39;s email or external_id." in page.text
    wrong = upload(client, "who,what\nx,y\n")
    assert "Unknown columns: who, what" in wrong.text and "valid rows" not in wrong.text


def test_cli_import_all_or_nothing_dry_run_and_only_valid(app: Flask, runner: Any, owner: Any, tmp_path: Path) -> None:
    path = tmp_path / "cancellations.csv"
    path.write_text("\n".join([HEADER, GOOD, BAD, GOOD_2]) + "\n")
    refused = runner.invoke(args=["cancellations", "import", str(path)])
    assert refused.exit_code == 1 and "line 3: email:" in refused.output and "Nothing was imported" in refused.output
    dry = runner.invoke(args=["cancellations", "import", str(path), "--dry-run"])
    assert dry.exit_code == 1 and "2 of 3 rows are valid" in dry.output
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("customer_name,customer_email\nAda,ada@x.test\n")
    unreadable = runner.invoke(args=["cancellations", "import", str(unknown), "--dry-run"])
    assert unreadable.exit_code == 1 and "Unknown columns: customer_name, customer_email" in unreadable.output
    assert "the file itself can't be imported" in unreadable.output and "rows are valid" not in unreadable.output
    assert count(app) == 0
    partial = runner.invoke(args=["cancellations", "import", str(path), "--only-valid"])
    assert partial.exit_code == 0 and "Imported 2 cancellations; skipped 1 bad row." in partial.output
    assert count(app) == 2
    customers = tmp_path / "customers.csv"
    customers.write_text("external_id,name,email,plan\ncus_1,Ann Able,ann@a.test,Enterprise\n")
    one = runner.invoke(args=["cancellations", "import", str(customers), "--customers"])
    assert one.exit_code == 0 and "Imported 1 customer." in one.output  # not "1 customers"
    with app.app_context():
        assert db.session.scalar(select(Customer.plan).where(Customer.external_id == "cus_1")) == "Enterprise"


def test_formula_cells_are_neutralised(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    assert [neutralise(v) for v in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", 5)] == [
        "'=1+2",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "ok",
        5,
    ]
    assert write_csv(["=a"], [["-2", None]]) == "'=a\r\n'-2,\r\n"
    log(app, logged_in_owner["email"], customer_name='=HYPERLINK("http://evil")', reason="@SUM(1)")
    log(app, logged_in_owner["email"], customer_name="Plain Name", customer_email="plain@client.test")
    export = client.get("/cancellations/export.csv")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {row["name"] for row in rows} == {'\'=HYPERLINK("http://evil")', "Plain Name"}
    assert all(not row["name"].startswith(("=", "+", "-", "@")) for row in rows)
    filtered = list(csv.DictReader(io.StringIO(client.get("/cancellations/export.csv?state=summarized").text)))
    assert filtered == []


def colleagues_customer(app: Flask, other_owner: Any) -> None:
    with app.app_context():
        db.session.add(
            Customer(external_id="cus_oscar", name="Otto", email="otto@o.test", owner_email=other_owner["email"])
        )
        db.session.commit()


def customer_row(app: Flask, external_id: str) -> tuple[str, str]:
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.external_id == external_id)).one()
        return customer.email, customer.owner_email


def test_an_owner_cannot_rewrite_a_colleagues_customer(
    app: Flask, client: FlaskClient, logged_in_owner: Any, other_owner: Any
) -> None:
    """The attack: the colleague's customer, by external_id, with the owner's address and themself as its owner."""
    colleagues_customer(app, other_owner)
    forged = (
        "external_id,name,email,owner_email\ncus_oscar,Otto,spy@evil.test,olivia@acme.test\ncus_new,Nia,nia@n.test,\n"
    )
    page = upload(client, forged, kind="customers")
    assert "The customer cus_oscar belongs to another account owner; only an admin can change it." in page.text
    assert '<td data-label="Line" class="keep-label">2</td>' in page.text
    assert '<td data-label="Line" class="keep-label">3</td>' not in page.text
    refused = confirm(client, page)
    assert refused.status_code == 400
    assert customer_row(app, "cus_oscar") == ("otto@o.test", other_owner["email"])

    as_cancellation = upload(client, f"{HEADER}\ncus_oscar,,,,,,,,,,,,,\n")  # a cancellation naming it changes nothing
    assert "belongs to another account owner" in as_cancellation.text
    giving_away = upload(
        client, "external_id,name,email,owner_email\ncus_mine,Mo,mo@m.test,oscar@acme.test\n", "customers"
    )
    assert "Only an admin can give a customer to another owner: use your own address." in giving_away.text

    confirm(client, page, only_valid="yes")  # the valid row only: a new customer, who is the owner's own
    assert customer_row(app, "cus_new") == ("nia@n.test", "olivia@acme.test")
    assert customer_row(app, "cus_oscar") == ("otto@o.test", other_owner["email"])


def test_an_owner_edits_their_own_customers_and_an_admin_anyones(
    app: Flask, client: FlaskClient, owner: Any, other_owner: Any, admin: Any
) -> None:
    from conftest import AuthActions

    colleagues_customer(app, other_owner)
    AuthActions(client).login(owner["email"])
    page = upload(client, "external_id,name,email\ncus_olivia,Ola,ola@o.test\n", kind="customers")
    confirm(client, page)
    mine = upload(client, "external_id,plan\ncus_olivia,Enterprise\n", kind="customers")
    assert "Ready to import" in mine.text
    # Given to the colleague between the preview and the confirmation: refused at the time of writing.
    with app.app_context():
        db.session.execute(
            db.update(Customer).where(Customer.external_id == "cus_olivia").values(owner_email=other_owner["email"])
        )
        db.session.commit()
    late = confirm(client, mine)
    assert (
        "Nothing was imported: line 2: external_id: The customer cus_olivia belongs to another account owner"
        in late.text
    )
    AuthActions(client).logout()
    AuthActions(client).login(admin["email"])
    page = upload(client, "external_id,email,owner_email\ncus_oscar,new@o.test,olivia@acme.test\n", kind="customers")
    assert "Ready to import" in page.text
    confirm(client, page)
    assert customer_row(app, "cus_oscar") == ("new@o.test", "olivia@acme.test")


def test_one_row_is_one_cancellation_in_the_preview(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    page = upload(client, "\n".join([HEADER, GOOD]) + "\n").text
    assert "1 cancellation in the file;" in page and "Import 1 cancellation<" in page


def test_one_worker_holds_an_import_until_its_lease_lapses(app: Flask, owner: Any) -> None:
    from feedback.auth.models import User
    from feedback.imports.models import ImportRun
    from feedback.imports.runs import check_run, claim_next, start_run

    with app.app_context():
        run_id = start_run(
            "cancellations", f"{HEADER}\n{GOOD}\n".encode(), "x.csv", db.session.get(User, owner["id"])
        ).id
        db.session.commit()
        first = claim_next("worker-a")
        assert first is not None and first.id == run_id and first.status == "checking"
        assert claim_next("worker-b") is None  # held
        later = utcnow() + timedelta(minutes=16)  # worker-a went quiet past its lease: worker-b starts again
        taken = claim_next("worker-b", later)
        assert taken is not None and taken.claimed_by == "worker-b"
        check_run(first, "worker-a")  # the first worker wakes up: its writes no longer land
        assert db.session.get(ImportRun, run_id, populate_existing=True).status == "checking"
        check_run(taken, "worker-b")
        run = db.session.get(ImportRun, run_id, populate_existing=True)
        assert (run.status, run.checked_rows, run.claimed_by) == ("checked", 1, None)


def _rows(count: int) -> str:
    return "".join(f"cus_many_{n},Customer {n},c{n}@many.test,,Team,9,,olivia@acme.test,,,,,,,\n" for n in range(count))


def test_checking_reads_the_files_bytes_once_not_at_every_batchs_commit(app: Flask, owner: Any) -> None:
    """Each batch's progress commit expires the run; reloading it must not fetch the file again (a 100,000-row
    file is 20 MB, and reading it per batch was most of the check's time)."""
    from sqlalchemy import event

    from feedback.auth.models import User
    from feedback.imports.operations import BATCH_ROWS
    from feedback.imports.runs import check_run, claim_next, start_run

    with app.app_context():
        uploader = db.session.get(User, owner["id"])
        start_run("cancellations", f"{HEADER}\n{_rows(2 * BATCH_ROWS + 1)}".encode(), "x.csv", uploader)
        db.session.commit()
        run = claim_next("worker")
        assert run is not None
        reads: list[str] = []

        def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "import_runs.data" in statement and statement.lstrip().upper().startswith("SELECT"):
                reads.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            check_run(run, "worker")
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        db.session.refresh(run)
        assert (run.status, run.checked_rows, run.problems) == ("checked", 2 * BATCH_ROWS + 1, [])
        assert len(reads) == 1, reads


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a PostgreSQL setting: SQLite has no plan cache to steer")
def test_the_import_plans_each_query_for_its_own_parameters_until_it_commits(app: Flask, owner: Any) -> None:
    """psycopg prepares a repeated statement and PostgreSQL keeps one generic plan for it, made while the
    customers table was still empty: a sequential scan, slower with every batch the import adds."""
    from sqlalchemy import text

    from feedback.auth.models import User
    from feedback.imports.operations import import_rows

    seen: list[str] = []
    with app.app_context():
        acting = db.session.get(User, owner["id"])
        rows = [(line, dict(zip(HEADER.split(","), next(csv.reader([row])), strict=True)))
                for line, row in enumerate(_rows(3).splitlines(), start=2)]  # fmt: skip
        setting = text("SHOW plan_cache_mode")
        import_rows("cancellations", rows, acting, lambda _: seen.append(db.session.scalar(setting)))
        db.session.commit()
        assert seen == ["force_custom_plan"]
        assert db.session.scalar(text("SHOW plan_cache_mode")) == "auto"  # SET LOCAL: gone with the transaction
        assert count(app) == 3


# The same customer twice: the same external_id, or another id-less row with the same address and day.
SAME_ID = "cus_1,Ann A.,ann@other.test,,,,,olivia@acme.test,,,,,,"
NO_ID = ",Cy,cy@c.test,,,,,olivia@acme.test,,,,2026-11-03,,"
NO_ID_SAME_DAY = ",Cy Again,CY@c.test,,,,,olivia@acme.test,,,,2026-11-03T18:00:00Z,,"
NO_ID_OTHER_DAY = ",Cy,cy@c.test,,,,,olivia@acme.test,,,,2026-12-03,,"


def test_a_row_twice_is_flagged_in_the_preview_and_imported_once(
    app: Flask, client: FlaskClient, logged_in_owner: Any, smtp: Any
) -> None:
    page = upload(client, "\n".join([HEADER, GOOD, GOOD, SAME_ID, NO_ID, NO_ID_SAME_DAY, NO_ID_OTHER_DAY]) + "\n")
    text = page.text
    assert "Ready to import" in text
    assert "6 cancellations in the file; <strong>3 valid</strong>, <strong>3 repeat an earlier row</strong>" in text
    duplicates = text[text.index('id="duplicates"') :]
    assert '<td data-label="Line" class="keep-label">3</td><td data-label="Repeats line">2</td>' in duplicates
    assert '<td data-label="Line" class="keep-label">4</td><td data-label="Repeats line">2</td>' in duplicates
    assert '<td data-label="Line" class="keep-label">6</td><td data-label="Repeats line">5</td>' in duplicates
    assert "the same email and cancellation date" in duplicates and 'keep-label">7</td>' not in duplicates
    assert "Import 3 cancellations<" in text
    assert client.get(page.request.path + "/status").json["duplicate_lines"] == 3

    done = confirm(client, page)
    assert "Imported 3 cancellations. Left out 3 rows repeating an earlier one." in done.text
    with app.app_context():
        names = db.session.scalars(select(Cancellation.customer_name).order_by(Cancellation.id)).all()
    assert names == ["Ann Able", "Cy", "Cy"]
    deliver(app)
    assert len(smtp.to("ann@a.test")) == 1


def test_a_duplicate_of_a_bad_row_is_not_a_duplicate(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    bad_first = "cus_1,Ann,not-an-email,,,,,olivia@acme.test,,,,,,"
    page = upload(client, "\n".join([HEADER, bad_first, GOOD]) + "\n")
    assert "Import only the 1 valid row" in page.text and 'id="duplicates"' not in page.text


def test_customers_twice_by_id_or_address(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    text = "external_id,name,email\ncus_9,Dee,dee@d.test\ncus_9,Dee D.,\n,Dee,DEE@d.test\n,Eve,eve@e.test\n"
    page = upload(client, text, kind="customers")
    assert "4 customers in the file; <strong>2 valid</strong>, <strong>2 repeat an earlier row</strong>" in page.text
    assert "the same email" in page.text
    done = confirm(client, page)
    assert "Imported 2 customers." in done.text and count(app, Customer) == 2


def test_cli_leaves_out_repeated_rows(app: Flask, runner: Any, owner: Any, tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([HEADER, GOOD, GOOD]) + "\n")
    done = runner.invoke(args=["cancellations", "import", str(path)])
    assert done.exit_code == 0, done.output
    assert "line 3: repeats line 2 (the same external_id): left out" in done.output
    assert "Imported 1 cancellation; left out 1 row repeating an earlier one." in done.output
    assert count(app) == 1
