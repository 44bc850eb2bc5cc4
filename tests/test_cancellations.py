"""Logging a cancellation: the web form and the command line share one operation and its rules."""

from __future__ import annotations

import re

from conftest import csrf_token, deliver, log, submit_form
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation
from feedback.surveys.models import Invitation


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Cancellation, Invitation, OutboxMessage)
        )


def test_cli_logs_a_cancellation_and_prints_its_id(app, runner, owner):
    result = runner.invoke(
        args=[
            "cancellations", "log",
            "--customer-name", "Robin Roe", "--customer-email", "robin@client.test",
            "--owner-email", "OLIVIA@acme.test",
            "--company", "Roe Ltd", "--reason", "Budget", "--complaint", "Too slow", "--plan", "Pro",
            "--mrr", "49.00", "--customer-since", "2023-01-31",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    new_id = int(result.output.strip().splitlines()[-1])
    with app.app_context():
        cancellation = db.session.get(Cancellation, new_id)
        assert cancellation.customer_email == "robin@client.test"
        assert str(cancellation.mrr) == "49.00"
        assert cancellation.customer_since.isoformat() == "2023-01-31"
        assert cancellation.owner.email == "olivia@acme.test"
        assert cancellation.source == "cli"
        assert cancellation.state == "logged"
        kinds = sorted(db.session.scalars(select(OutboxMessage.kind)).all())
        assert kinds == ["review_request", "survey_invitation"]
    assert counts(app) == (1, 1, 2)


def test_cli_refuses_bad_input_and_writes_nothing(app, runner, owner):
    base = ["cancellations", "log", "--customer-name", "Robin", "--customer-email", "robin@client.test"]
    cases = [
        (base + ["--owner-email", "nobody@acme.test"], "No staff member has the address"),
        (["cancellations", "log", "--customer-name", "Robin", "--customer-email", "not-an-address",
          "--owner-email", owner["email"]], "--customer-email"),
        (["cancellations", "log", "--customer-name", "   ", "--customer-email", "robin@client.test",
          "--owner-email", owner["email"]], "name is required"),
        (base + ["--owner-email", owner["email"], "--mrr", "lots"], "--mrr: Must be a number"),
        (base + ["--owner-email", owner["email"], "--mrr", "-5"], "MRR must be a positive amount"),
        (base + ["--owner-email", owner["email"], "--customer-since", "31/01/2023"], "customer-since"),
        (["cancellations", "log", "--customer-email", "robin@client.test", "--owner-email", owner["email"]],
         "--customer-name: "),
    ]  # fmt: skip
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    # Every problem of one command at once, as the form shows them, not the first one click meets.
    every = runner.invoke(args=["cancellations", "log", "--customer-email", "x", "--mrr", "abc",
                                "--customer-since", "31/01/2023"])  # fmt: skip
    assert every.exit_code != 0
    for option in ("--customer-name:", "--customer-email:", "--owner-email:", "--mrr:", "--customer-since:"):
        assert option in every.output, every.output
    assert counts(app) == (0, 0, 0)


def test_web_form_logs_and_redirects_to_the_timeline(app, client, logged_in_owner):
    page = client.get("/cancellations/new")
    assert f'<option selected value="{logged_in_owner["email"]}"' in page.text
    response = client.post(
        "/cancellations/new",
        data={
            "csrf_token": csrf_token(page.text),
            "customer_name": "Kim Kale",
            "customer_email": "kim@client.test",
            "owner_email": logged_in_owner["email"],
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Kim Kale will get the exit survey by email" in response.text
    assert "Logged from the web form by Olivia Owner" in response.text
    assert "Customer's language</dt><dd>Not set: the survey follows their browser</dd>" in response.text
    assert counts(app) == (1, 1, 2)


def test_web_form_errors_keep_what_was_typed(app, client, logged_in_owner):
    response = submit_form(
        client,
        "/cancellations/new",
        {
            "customer_name": "Kim <Kale>",
            "customer_email": "kim-at-client",
            "company": "Kale & Co",
            "reason": "Moved to a spreadsheet",
            "mrr": "12.50",
            "owner_email": logged_in_owner["email"],
        },
    )
    assert response.status_code == 422
    assert "The customer&#39;s email address is not valid" in response.text
    assert 'value="Kim &lt;Kale&gt;"' in response.text
    assert 'value="kim-at-client"' in response.text
    assert 'value="Kale &amp; Co"' in response.text
    assert "Moved to a spreadsheet</textarea>" in response.text
    assert 'value="12.50"' in response.text
    assert counts(app) == (0, 0, 0)


def test_web_form_requires_csrf_token(app, client, logged_in_owner):
    response = client.post(
        "/cancellations/new",
        data={"customer_name": "Kim", "customer_email": "kim@client.test", "owner_email": logged_in_owner["email"]},
    )
    assert response.status_code == 400
    assert counts(app) == (0, 0, 0)


def test_list_filters_and_paginates(app, client, auth, admin, owner, other_owner):
    for n in range(30):
        log(app, admin["email"], customer_name=f"Customer {n:02d}", customer_email=f"c{n}@client.test")
    log(app, other_owner["email"], customer_name="Someone Else's", customer_email="else@client.test")
    auth.login(admin["email"])
    first = client.get("/cancellations/")
    assert "Page 1 of 2" in first.text
    assert "Someone Else&#39;s" in first.text  # newest first
    second = client.get("/cancellations/?page=2")
    assert "Customer 00" in second.text and "Customer 29" not in second.text
    mine = client.get("/cancellations/?owner=me")
    assert "Someone Else" not in mine.text
    assert "Nothing here" in client.get("/cancellations/?state=summarized").text


def test_owners_list_only_their_own_cancellations(app, client, logged_in_owner, other_owner):
    log(app, logged_in_owner["email"], customer_name="Mine Customer", customer_email="mine@client.test")
    log(app, other_owner["email"], customer_name="Theirs Customer", customer_email="theirs@client.test")
    page = client.get("/cancellations/")
    assert "Mine Customer" in page.text
    assert "Theirs Customer" not in page.text
    assert "Only mine" not in page.text  # the filter means nothing to an owner


def test_empty_list_explains_what_to_do(client, logged_in_owner):
    page = client.get("/cancellations/")
    assert "No cancellations yet" in page.text
    assert "Log the first cancellation" in page.text


def test_staff_pages_need_a_login(app, client, owner):
    cancellation_id = log(app, owner["email"])
    for path in ("/cancellations/", "/cancellations/new", f"/cancellations/{cancellation_id}",
                 f"/cancellations/{cancellation_id}/summary", f"/cancellations/{cancellation_id}/review"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login?next=" in response.headers["Location"]


def test_an_owner_logging_for_a_colleague_is_not_sent_to_a_forbidden_page(app, client, logged_in_owner, other_owner):
    response = submit_form(client, "/cancellations/new", {"customer_name": "Kim Colleague",
                           "customer_email": "kimc@client.test", "owner_email": other_owner["email"]})  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"] == "/cancellations/"
    assert "Oscar Other owns it" in client.get("/cancellations/").text


def test_logging_for_an_address_that_opted_out_says_no_survey_goes(app, client, logged_in_owner):
    from feedback.mail.suppression import suppress

    with app.app_context():
        suppress("quiet@client.test", source="link")
        db.session.commit()
    page = client.get("/cancellations/new")
    response = client.post(
        "/cancellations/new",
        data={"csrf_token": csrf_token(page.text), "customer_name": "Quinn Quiet",
              "customer_email": "quiet@client.test", "owner_email": logged_in_owner["email"]},
        follow_redirects=True,
    )  # fmt: skip
    assert "Quinn Quiet asked us not to email them, so no survey goes out." in response.text
    assert "will get the exit survey" not in response.text


def test_an_address_no_email_header_can_carry_is_refused_and_an_international_domain_kept_in_ascii(
    app, client, smtp, logged_in_owner
):
    """zoë@… would need SMTPUTF8 end to end: a clear error that keeps what was typed, never a 500 when queued."""
    form = {"customer_name": "Zoë Quinn", "customer_email": "zoë@client.test", "owner_email": logged_in_owner["email"]}
    response = submit_form(client, "/cancellations/new", form)
    assert response.status_code == 422
    assert "Internationalized characters before the @-sign are not supported" in response.text
    assert 'value="zoë@client.test"' in response.text
    assert counts(app) == (0, 0, 0)

    form["customer_email"] = "Zoe@Bücher.example"
    assert submit_form(client, "/cancellations/new", form).status_code in (302, 303)
    deliver(app)
    invitation = smtp.one("zoe@xn--bcher-kva.example")
    assert "Zoë Quinn" in invitation["To"]


def test_the_cli_help_promises_only_commands_it_has(runner):
    result = runner.invoke(args=["cancellations", "--help"])
    assert result.exit_code == 0
    assert "Log cancellations and import them from CSV." in result.output
    assert "inspect" not in result.output.lower()
    assert set(re.findall(r"^  (\w+)  ", result.output, re.M)) == {"import", "log"}
