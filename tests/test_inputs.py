"""The input filter and the schemas: every way in refuses control characters in single-line fields, in its own
words; NUL is never a 500 (PostgreSQL refuses it in any text); every documented maximum is accepted end to end."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from conftest import deliver, link_in, log, make_config, submit_form, text_part
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_api import bearer, body
from test_reviews import REVIEW
from test_webhooks import STANDARD_SECRET, STRIPE_SECRET, expanded_event, post_stripe, standard_headers

from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.inputs.schemas import CANCELLATION, CUSTOMER
from feedback.inputs.text import ONE_LINE, flattened, multi_line, single_line
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation
from feedback.surveys.models import SurveyResponse

#: Each of these is a line break to some reader of an email header, or a 500 in PostgreSQL.
CONTROLS = [
    "\x00",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x7f",
    "\x85",
    "\x9f",
    "\u2028",
    "\u2029",
]
HEADER_TRICK = "Co\x0bBcc: spy@evil.test"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET, WEBHOOK_SECRET=STANDARD_SECRET)


@pytest.fixture
def token(app: Flask, owner: dict[str, Any]) -> str:
    with app.app_context():
        token = create_token("Billing")[1]
        db.session.commit()
        return token


def count(app: Flask, model: Any = Cancellation) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_filter_refuses_controls_on_one_line_and_drops_them_from_text(control: str) -> None:
    with pytest.raises(ValueError, match="single line"):
        single_line(f"Acme{control}Inc")
    kept = control if control in "\n\t" else ("\n" if control in "\r\u2028\u2029" else "")
    assert multi_line(f"Acme{control}Inc") == f"Acme{kept}Inc"
    assert flattened(f" Acme{control}{control}Inc ") == "Acme Inc"


def test_the_schemas_say_every_problem_by_field() -> None:
    cleaned, errors = CUSTOMER.check(
        {"name": " Ann  Able ", "company": HEADER_TRICK, "mrr": "9999999999.995"}, given_only=True
    )
    assert cleaned == {"name": "Ann Able"}
    assert errors == {"company": ONE_LINE, "mrr": "Must be a positive amount below 10,000,000,000."}
    _, errors = CANCELLATION.check({"customer_name": "", "customer_email": "x", "owner_email": "o", "mrr": -1})
    assert errors["customer_name"] == "The customer's name is required."
    assert errors["mrr"] == "MRR must be a positive amount."


# --- Item 1: every way in refuses, in its own words -----------------------------------------------------------


def test_the_web_form_refuses_beside_the_field(app: Flask, client: FlaskClient, logged_in_owner: Any) -> None:
    form = {"customer_name": "Casey", "customer_email": "casey@client.test", "owner_email": logged_in_owner["email"]}
    page = submit_form(client, "/cancellations/new", {**form, "company": HEADER_TRICK})
    assert page.status_code == 422 and "Must be a single line, without control characters" in page.text
    assert count(app) == 0


def test_the_cli_names_the_option(app: Flask, runner: Any, owner: Any) -> None:
    result = runner.invoke(
        args=["cancellations", "log", "--customer-name", "Casey", "--customer-email", "casey@client.test"]
        + ["--owner-email", owner["email"], "--company", HEADER_TRICK]
    )
    assert result.exit_code == 1 and "--company: Must be a single line" in result.output
    assert count(app) == 0


def test_the_api_and_both_webhooks_name_the_body_field(app: Flask, client: FlaskClient, token: str, owner: Any) -> None:
    api_body = body()
    api_body["customer"]["company"] = HEADER_TRICK
    answer = client.post("/api/v1/cancellations", json=api_body, headers=bearer(token))
    assert answer.status_code == 422
    assert {"field": "customer.company", "message": ONE_LINE} in answer.json["errors"]

    raw = json.dumps(api_body).encode()
    signed = client.post("/webhooks/cancellations", data=raw, headers=standard_headers(raw, "msg_vt"))
    assert signed.status_code == 422 and {"field": "customer.company", "message": ONE_LINE} in signed.json["errors"]

    assert count(app) == 0

    # What Stripe holds is not ours to refuse (Stripe would retry a 422 for three days, then drop it): it is
    # recorded on one line (issue 31, item 12).
    app.config["STRIPE_OWNER_EMAIL"] = owner["email"]
    event = expanded_event()
    event["data"]["object"]["customer"]["metadata"]["company"] = HEADER_TRICK
    stripe = post_stripe(client, event)
    assert stripe.status_code == 201, stripe.json
    assert stripe.json["cancellation"]["company"] == "Co Bcc: spy@evil.test"


def test_csv_says_line_and_column(app: Flask, runner: Any, owner: Any, tmp_path: Any) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(f"external_id,name,email,company\ncus_1,Ann,ann@a.test,{HEADER_TRICK}\n")
    result = runner.invoke(args=["cancellations", "import", str(path), "--customers"])
    assert result.exit_code == 1 and f"line 2: company: {ONE_LINE}" in result.output


def test_the_admin_company_name_stays_on_one_line(client: FlaskClient, auth: Any, admin: Any) -> None:
    auth.login(admin["email"])
    page = submit_form(client, "/admin/settings/", {"company_name": "Acme\x0bBcc: spy@evil.test"})
    assert page.status_code == 422 and "Keep this on one line: it appears in email headers." in page.text


# --- Item 4: NUL is never a 500 ------------------------------------------------------------------------------------


def test_nul_in_the_login_and_every_staff_form_is_refused_not_a_500(
    app: Flask, client: FlaskClient, auth: Any, admin: Any, owner: Any
) -> None:
    assert auth.login("ada\x00@acme.test").status_code in (200, 422)
    auth.login(admin["email"])
    fields = ("customer_name", "customer_email", "company", "plan", "mrr", "customer_since", "reason", "complaint")
    for field in fields:
        # One customer each: a second cancellation for one customer would stop at the "already open" warning.
        form = {"customer_name": "Casey", "customer_email": f"casey.{field}@client.test", "owner_email": admin["email"]}
        page = submit_form(client, "/cancellations/new", {**form, field: "a\x00b"})
        assert page.status_code in (302, 422), (field, page.status_code)
    for path, form in (
        ("/admin/settings/", {"company_name": "A\x00", "sender_name": "B\x00", "survey_intro": "C\x00D"}),
        ("/admin/staff/", {"name": "N\x00", "email": "n\x00@acme.test", "role": "owner"}),
        ("/admin/tokens/", {"name": "T\x00"}),
    ):
        assert submit_form(client, path, form).status_code < 500, path
    with app.app_context():  # a text area keeps the text, without the NUL
        assert all("\x00" not in (c.reason + c.complaint) for c in db.session.scalars(select(Cancellation)))


def test_nul_in_answers_is_dropped_and_the_review_and_summary_still_work(
    app: Flask, client: FlaskClient, smtp: Any, logged_in_owner: Any
) -> None:
    cancellation_id = log(app, logged_in_owner["email"])
    deliver(app)
    survey = link_in(smtp.one("casey@client.test")).removeprefix("http://localhost")
    answers = {"main_reason": "Something else", "final_straw": "Bad\x00 day\x0b", "better_fit_referral": "Ze\x00ta\n"}
    assert client.post(survey, data=answers).status_code == 303
    with app.app_context():
        stored = db.session.scalars(select(SurveyResponse)).one().answers
    assert stored["final_straw"] == "Bad day" and stored["better_fit_referral"] == "Ze ta"
    review = f"/cancellations/{cancellation_id}/review"
    assert client.get(review).status_code == 200
    done = submit_form(client, review, {**REVIEW, "this_week": "Out\x00age"})
    assert done.status_code == 302, done.text
    assert client.get(f"/cancellations/{cancellation_id}/summary").status_code == 200


def test_an_answer_stored_with_nul_before_the_filter_breaks_no_page(
    app: Flask, client: FlaskClient, smtp: Any, logged_in_owner: Any
) -> None:
    cancellation_id = log(app, logged_in_owner["email"])
    deliver(app)
    survey = link_in(smtp.one("casey@client.test")).removeprefix("http://localhost")
    assert client.post(survey, data={"main_reason": "Something else"}).status_code == 303
    with app.app_context():
        response = db.session.scalars(select(SurveyResponse)).one()
        response.answers = {**response.answers, "final_straw": "Stored\x00 long ago\x0b"}
        db.session.commit()
    review = f"/cancellations/{cancellation_id}/review"
    assert client.get(f"/cancellations/{cancellation_id}").status_code == 200
    assert client.get(review).status_code == 200
    done = submit_form(client, review, REVIEW)
    assert done.status_code == 302
    assert client.get(f"/cancellations/{cancellation_id}/summary").status_code == 200
    deliver(app)
    assert "Why Casey Customer (Client Co) left" in text_part(smtp.one(logged_in_owner["email"], "Summary"))


# --- Item 5: every maximum, end to end -----------------------------------------------------------------------------

LONGEST = {
    "name": "N" * 199 + "é",
    "company": "C" * 199 + ">",
    "plan": "P" * 120,
    "mrr": "9999999999.99",
    "external_id": "x" * 255,
    "locale": "de-" + "-".join(["abcdefgh"] * 3),
}


def longest_customer(n: int) -> dict[str, Any]:
    address = f"{n}{'a' * 50}@{'b' * 60}.{'c' * 60}.test"
    return {**LONGEST, "external_id": f"{n}" + "x" * 254, "email": address, "owner_email": "olivia@acme.test"}


def assert_delivered_whole(app: Flask, smtp: Any, expected: int) -> None:
    deliver(app)
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert len(rows) == expected and all(len(row.subject) <= 300 for row in rows)
        assert {row.status for row in rows} == {"sent"}


def test_every_maximum_is_accepted_by_every_way_in(
    app: Flask, client: FlaskClient, token: str, smtp: Any, auth: Any, owner: Any, tmp_path: Any
) -> None:
    auth.login(owner["email"])
    text = "T" * 5000
    form = {"customer_name": LONGEST["name"], "customer_email": "web@client.test", "owner_email": owner["email"]}
    form.update(company=LONGEST["company"], plan=LONGEST["plan"], mrr=LONGEST["mrr"], reason=text, complaint=text)
    assert submit_form(client, "/cancellations/new", form).status_code == 302

    api = {"customer": longest_customer(1), "reason": text, "complaint": text, "comment": text}
    answer = client.post("/api/v1/cancellations", json=api, headers=bearer(token))
    assert answer.status_code == 201, answer.json
    assert answer.json["customer"]["mrr"] == 9999999999.99

    raw = json.dumps({**api, "customer": longest_customer(2)}).encode()
    signed = client.post("/webhooks/cancellations", data=raw, headers=standard_headers(raw, "m" * 255))
    assert signed.status_code == 201, signed.json

    event = expanded_event()
    customer = event["data"]["object"]["customer"]
    customer.update(name=LONGEST["name"] + "cut", email="stripe@client.test")
    customer["metadata"] = {"company": LONGEST["company"] + "cut", "owner_email": owner["email"]}
    event["data"]["object"]["cancellation_details"]["comment"] = text
    stripe = post_stripe(client, event)
    assert stripe.status_code == 201, stripe.json

    header = "external_id,name,email,company,plan,mrr,owner_email,locale,reason,comment"
    row = longest_customer(3)
    line = ",".join([row[k] for k in header.split(",")[:8]] + [text, text])
    from test_imports import confirm, upload

    page = upload(client, f"{header}\n{line}\n")  # the worker checks the file
    assert "Ready to import" in page.text, page.text
    confirmed = confirm(client, page)  # and imports it
    assert "Imported 1 cancellation." in confirmed.text
    assert count(app) == 5
    assert_delivered_whole(app, smtp, 11)  # two for each cancellation, and the uploader's "import is done"


def test_money_is_rounded_before_its_limit_is_checked(
    app: Flask, client: FlaskClient, token: str, logged_in_owner: Any
) -> None:
    api = body()
    api["customer"]["mrr"] = 9999999999.995
    answer = client.post("/api/v1/cancellations", json=api, headers=bearer(token))
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "customer.mrr"
    form = {"customer_name": "Casey", "customer_email": "casey@client.test", "owner_email": logged_in_owner["email"]}
    page = submit_form(client, "/cancellations/new", {**form, "mrr": "9999999999.995"})
    assert page.status_code == 422 and "MRR must be a positive amount." in page.text
    assert count(app) == 0
    with app.app_context():
        assert CUSTOMER["mrr"].clean("9999999999.994") == Decimal("9999999999.99")


# --- The forms and API that came with follow-through take the same filter -------------------------------------------


def test_action_items_refuse_controls_on_one_line_and_keep_the_note(
    app: Flask, client: FlaskClient, token: str, auth: Any, owner: Any
) -> None:
    from datetime import date

    from feedback.actions.models import ActionItem
    from feedback.actions.operations import add_item

    cancellation_id = log(app, owner["email"])
    with app.app_context():
        item_id = add_item(db.session.get(Cancellation, cancellation_id), title="Ship", due_on=date(2027, 1, 1)).id
        db.session.commit()
    path = f"/api/v1/action-items/{item_id}"
    for control in CONTROLS:
        refused = client.patch(path, headers=bearer(token), json={"title": f"Ship{control}it"})
        assert refused.status_code == 422, repr(control)
        assert [(e["field"], e["message"]) for e in refused.json["errors"]] == [("title", ONE_LINE)]
    kept = client.patch(path, headers=bearer(token), json={"note": "Done\x00 in\x0b ACM-7\nfor real"})
    assert kept.status_code == 200 and kept.json["note"] == "Done in ACM-7\nfor real"

    auth.login(owner["email"])
    page = submit_form(client, f"/actions/{item_id}/edit", {"title": HEADER_TRICK, "owner_email": owner["email"]})
    assert page.status_code == 422 and ONE_LINE in page.text
    with app.app_context():
        assert db.session.get(ActionItem, item_id).title == "Ship"


def test_a_win_back_subject_stays_on_one_line(
    app: Flask, client: FlaskClient, auth: Any, smtp: Any, owner: Any
) -> None:
    from test_winback import answer_survey, done_change

    cancellation_id = log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp)
    item_id = done_change(app, cancellation_id)
    auth.login(owner["email"])
    path = f"/win-back/{cancellation_id}/tell/{item_id}"
    page = submit_form(client, path, {"subject": HEADER_TRICK, "body": "Hi Casey,\x00 we changed."})
    assert page.status_code == 422 and ONE_LINE in page.text
    smtp.clear()
    deliver(app)
    assert smtp.to("casey@client.test") == []
