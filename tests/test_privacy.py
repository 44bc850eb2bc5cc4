"""Privacy: export everything about one person, erase it everywhere, anonymise past retention."""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import io
import json
import logging
from datetime import timedelta

import pytest
from conftest import csrf_token, deliver, link_in, log, run_jobs, submit_form
from sqlalchemy import func, inspect, select, text

from feedback.api.tokens import create_token
from feedback.audit.models import AuditEvent
from feedback.db import utcnow
from feedback.extensions import db
from feedback.imports.models import ImportRun
from feedback.inbound.models import CustomerReply, InboundMessage
from feedback.inbound.operations import process_and_commit, store_message
from feedback.mail.models import OutboxMessage
from feedback.mail.suppression import address_hash, suppress, suppression_for
from feedback.postmortem.models import Cancellation
from feedback.surveys.models import SurveyResponse

NAME, EMAIL, COMPANY = "Zebulon Quixotic", "zebulon.q@quixco.test", "Quixco Widgets"
#: What must be gone from every text column once the person is erased.
SECRETS = ("zebulon", "quixotic", EMAIL, "quixco widgets", "cus_zq42", "my boss zebulon hates the new ui")


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def whole_postmortem(app, client, smtp, admin, before_opt_out=None) -> int:
    """Through the API (so the idempotency replay keeps a copy), the survey, the review, the summary, an opt-out.

    `before_opt_out(cancellation_id)` adds more while she still takes mail (a win-back notice needs that).
    """
    with app.app_context():
        _, token = create_token("CRM")
        db.session.commit()
    api = app.test_client()
    created = api.post(
        "/api/v1/cancellations",
        json={
            "owner_email": admin["email"],
            "reason": f"{NAME} said it was too dear",
            "complaint": "Zebulon: slow exports",
            "customer": {
                "external_id": "cus_zq42",
                "name": NAME,
                "email": EMAIL,
                "company": COMPANY,
                "plan": "Team",
                "mrr": 99,
            },
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"},
    )
    assert created.status_code == 201, created.text
    cancellation_id = created.json["id"]
    deliver(app)
    survey = link_in(smtp.one(EMAIL, "")).removeprefix("http://localhost")
    customer = app.test_client()
    assert customer.get(survey).status_code == 200
    answered = customer.post(
        survey,
        data={"main_reason": "It was too expensive for us", "final_straw": "My boss Zebulon hates the new UI",
              "return_likelihood": "6", "may_follow_up": "yes", "winback_consent": "yes"},
        headers={"User-Agent": "Zebulon's browser"},
    )  # fmt: skip
    assert answered.status_code == 303
    # A reply by email to the invitation, and one the matching could not place (no headers to go by).
    with app.app_context():
        invitation_id = db.session.scalar(
            select(OutboxMessage.message_id).where(
                OutboxMessage.cancellation_id == cancellation_id, OutboxMessage.kind == "survey_invitation"
            )
        )
    receive_mail(app, reply_to_farewell(invitation_id, "Zebulon here. My boss Zebulon hates the new UI, truly."))
    receive_mail(app, reply_to_farewell("", "Quixco Widgets again: one more thing about the exports."))
    # An import that names them, checked and imported by the worker; its file is kept until the import is over.
    upload = client.get("/cancellations/import")
    row = f"{NAME},{EMAIL},{COMPANY},Team,99,2025-01-01,{admin['email']},cus_zq42\n"
    csv_file = "name,email,company,plan,mrr,customer_since,owner_email,external_id\n" + row
    posted = client.post(
        "/cancellations/import",
        data={
            "csrf_token": csrf_token(upload.text),
            "kind": "customers",
            "file": (io.BytesIO(csv_file.encode()), "zq.csv"),
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 303, posted.text
    run_jobs(app, utcnow() + timedelta(seconds=30))
    checked = client.get(posted.headers["Location"])
    imported = client.post(posted.headers["Location"] + "/confirm", data={"csrf_token": csrf_token(checked.text)})
    assert imported.status_code == 303
    run_jobs(app, utcnow() + timedelta(seconds=60))
    review_path = f"/cancellations/{cancellation_id}/review"
    page = client.get(review_path)
    reviewed = client.post(
        review_path,
        data={"csrf_token": csrf_token(page.text), "this_week": "Zebulon Quixotic called twice.",
              "relationship_history": "Quixco Widgets halved usage.", "action_items": "Call first",
              "icp_fit": "Yes, a good fit", "avoidable": "Yes"},
    )  # fmt: skip
    assert reviewed.status_code == 302
    deliver(app)
    if before_opt_out is not None:
        before_opt_out(cancellation_id)
    with app.app_context():
        suppress(EMAIL, "link", reason=f"{NAME} asked", cancellation_id=cancellation_id)
        db.session.commit()
    return cancellation_id


def reply_to_farewell(in_reply_to: str, text_body: str) -> bytes:
    """A plain reply from the customer's own mail program, answering the given Message-ID (or nothing)."""
    headers = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        f"From: {NAME} <{EMAIL}>\r\nTo: hello@acme.test\r\nSubject: Re: Thank you for your time\r\n"
        f"Message-ID: <{abs(hash(text_body))}@quixco.test>\r\n{headers}Date: Wed, 02 Dec 2026 07:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text_body}\r\n"
    ).encode()


def receive_mail(app, raw: bytes) -> None:
    with app.app_context():
        message, _ = store_message(raw, "pipe")
        process_and_commit(message.id)


def decoded(raw: bytes) -> str:
    """Binary as text, and when it is a message, every MIME part decoded (base64, quoted-printable, encoded words)."""
    texts = [raw.decode("utf-8", "replace")]
    with contextlib.suppress(Exception):  # not a message: its text is all there is
        for part in email.message_from_bytes(raw, policy=email.policy.default).walk():
            texts += [str(value) for value in part.values()]
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


def every_text_value(app):
    """(table, column, value) for every text, JSON and binary value in every table of the real database."""
    with app.app_context(), db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if table == "alembic_version":
                continue
            for row in connection.execute(text(f"SELECT * FROM {table}")).mappings():  # noqa: S608 - our table names
                for column, value in row.items():
                    if isinstance(value, bytes | memoryview):
                        value = decoded(bytes(value))
                    elif isinstance(value, dict | list):
                        value = json.dumps(value)
                    if isinstance(value, str):
                        yield table, column, value


def test_export_holds_everything_and_is_audited(app, client, smtp, logged_in_admin, runner, monkeypatch):
    more = seven_more_places(app, client, logged_in_admin, monkeypatch)
    cancellation_id = whole_postmortem(app, client, smtp, logged_in_admin, before_opt_out=more)
    result = runner.invoke(args=["customers", "export", EMAIL.upper()])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["email"] == EMAIL and document["customers"][0]["external_id"] == "cus_zq42"
    [cancellation] = document["cancellations"]
    answers = {a["key"]: a for a in cancellation["survey"]["answers"]}
    assert answers["final_straw"]["value"] == "My boss Zebulon hates the new UI"
    assert answers["final_straw"]["question"]  # with the question it answered
    assert any(a["value"] == "Zebulon Quixotic called twice." for a in cancellation["review"]["answers"])
    kinds = {m["kind"] for m in document["emails"]}
    assert {"survey_invitation", "review_request", "summary"} <= kinds
    assert all(m["body_text"] for m in document["emails"])
    assert document["suppression"]["how"] == "the unsubscribe link"
    received = {m["status"]: m for m in document["mail_received"]}
    # Her reply, the one matched to nothing, a colleague's forward about her and the reply that failed.
    assert len(document["mail_received"]) == 4, document["mail_received"]
    assert any("My boss Zebulon hates the new UI, truly." in m["text"] for m in document["mail_received"])
    assert all(EMAIL in m["raw"] for m in received.values())
    assert [c["email"] for c in document["win_back_consents"]] == [EMAIL]
    # What no key links to her, found through the declared personal columns, as erasure finds it.
    [ticket] = document["help_desk_conversations"]
    assert (ticket["help_desk"], ticket["id"], ticket["subject"]) == ("zendesk", "77", f"{NAME}: exports slow")
    assert ticket["opening_message"].startswith(f"Hi, {NAME} of {COMPANY}")
    mentioned = {m["table"] for m in document["mentioned_in"]}
    assert {"action_items", "winback_notices", "outbox_contents", "idempotent_requests", "import_runs"} <= mentioned
    assert any(m["columns"].get("title") == f"Lower the price for {NAME}" for m in document["mentioned_in"])

    token = csrf_token(client.get(f"/cancellations/{cancellation_id}").text)
    page = client.post(f"/admin/privacy/cancellations/{cancellation_id}/export", data={"csrf_token": token})
    assert page.status_code == 200 and page.mimetype == "application/json"
    assert "attachment" in page.headers["Content-Disposition"]
    assert page.json["cancellations"][0]["id"] == cancellation_id

    with app.app_context():
        _, token = create_token("DPO")
        db.session.commit()
        customer_id = db.session.get(Cancellation, cancellation_id).customer_id
        exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.export")).all()
        assert [e.actor for e in exports] == ["command line", logged_in_admin["email"]]
    api = app.test_client()
    exported = api.get(f"/api/v1/customers/{customer_id}/export", headers={"Authorization": f"Bearer {token}"})
    assert exported.status_code == 200 and exported.json["email"] == EMAIL
    missing = api.get("/api/v1/customers/999/export", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert api.get(f"/api/v1/customers/{customer_id}/export").status_code == 401


def seven_more_places(app, client, admin, monkeypatch):
    """Where the third attack still found her after an erasure (issue 31, item 4): rows no key links to her."""

    def write(cancellation_id: int) -> None:
        from feedback.actions.operations import add_item, close_item
        from feedback.auth.models import User
        from feedback.winback.operations import reason_of, tell_customer

        with app.app_context():
            cancellation = db.session.get(Cancellation, cancellation_id)
            staff = db.session.get(User, admin["id"])
            # An action item naming her, closed with a note naming her, and told to her (a win-back notice).
            item = add_item(cancellation, title=f"Lower the price for {NAME}", reason=reason_of(cancellation))
            close_item(item, "done", note=f"Told {NAME} at {EMAIL} on the phone", by=staff)
            tell_customer(cancellation, item, f"{NAME}, we lowered the price", "Hi Zebulon, it is cheaper now.", staff)
            # One still open and due: its reminder (no cancellation_id) says "From the postmortem of Zebulon…".
            add_item(cancellation, title="Send the new quote", due_on=utcnow().date())
            # Her help-desk ticket, as a fetch keeps it (issue 26, item 6).
            from feedback.helpdesk.connector import Found
            from feedback.helpdesk.operations import keep

            ticket = Found(
                "77", "https://quixco-help.test/agent/tickets/77", f"{NAME}: exports slow", "solved", "email",
                utcnow() - timedelta(days=3), tags=["quixco widgets"],
                opening_message=f"Hi, {NAME} of {COMPANY} here ({EMAIL}). My boss Zebulon hates the new UI.",
            )  # fmt: skip
            keep(cancellation.customer, "zendesk", [ticket], utcnow())
            db.session.commit()
        run_jobs(app, utcnow() + timedelta(minutes=20))
        # A colleague's forward about her, which nothing matches.
        receive_mail(
            app,
            b"From: Colleague <colleague@acme.test>\r\nTo: hello@acme.test\r\nSubject: FYI\r\n"
            b"Message-ID: <fwd-1@acme.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + f"{NAME} <{EMAIL}> of {COMPANY} called me about the price.\r\n".encode(),
        )
        # A reply whose processing failed in the database: its note and the log had her words as bound parameters.
        from feedback.inbound import operations

        def failing_attach(message, cancellation, how="", attached_by_id=None):
            db.session.execute(
                text("INSERT INTO customer_replies (cancellation_id, from_address, text) VALUES (:c, :a, NULL)"),
                {"c": cancellation.id, "a": message.from_address},
            )

        monkeypatch.setattr(operations, "attach_reply", failing_attach)
        with app.app_context():
            invitation_id = db.session.scalar(
                select(OutboxMessage.message_id).where(OutboxMessage.kind == "survey_invitation")
            )
        body = base64.b64encode(b"The exports are slow, says Zebulon Quixotic.").decode()
        raw = reply_to_farewell(invitation_id, body).replace(
            b"charset=utf-8\r\n", b"charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
        )
        receive_mail(app, raw)
        monkeypatch.undo()
        with app.app_context():
            failed = db.session.scalars(select(InboundMessage).where(InboundMessage.status == "failed")).one()
            assert (failed.from_address, failed.cancellation_id) == ("", None)  # rolled back: no key finds it
            assert failed.note.startswith("Processing failed: IntegrityError")
        # An upload naming her, checked and never confirmed: its file holds her whole line.
        upload = client.get("/cancellations/import")
        row = f"{NAME},{EMAIL},{COMPANY},Team,99,2025-01-01,{admin['email']},cus_zq42\n"
        posted = client.post(
            "/cancellations/import",
            data={
                "csrf_token": csrf_token(upload.text),
                "kind": "customers",
                "file": (io.BytesIO(b"name,email,company,plan,mrr,customer_since,owner_email,external_id\n"
                                    + row.encode()), f"{NAME}.csv"),
            },
            content_type="multipart/form-data",
        )  # fmt: skip
        assert posted.status_code == 303
        run_jobs(app, utcnow() + timedelta(minutes=21))
        with app.app_context():
            assert db.session.scalar(select(func.count()).where(ImportRun.status == "checked")) == 1

    return write


def test_erase_leaves_nothing_of_theirs_in_any_text_column(app, client, smtp, logged_in_admin, monkeypatch, caplog):
    caplog.set_level(logging.INFO)  # (mail.log is the test SMTP sink, which reads whatever it is sent)
    more = seven_more_places(app, client, logged_in_admin, monkeypatch)
    cancellation_id = whole_postmortem(app, client, smtp, logged_in_admin, before_opt_out=more)
    deliver(app, utcnow() + timedelta(minutes=30))
    with app.app_context():
        kinds = set(db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.cancellation_id.is_(None))))
        assert {"action_reminder", "import_done"} <= kinds, kinds
    tables = {t for t, c, v in every_text_value(app) if any(s in v.lower() for s in SECRETS)}
    assert {"winback_notices", "action_items", "outbox_contents", "inbound_messages", "import_runs",
            "helpdesk_conversations"} <= tables  # fmt: skip
    found = [(t, c) for t, c, v in every_text_value(app) if any(s in v.lower() for s in SECRETS)]
    assert found  # the test sees them before

    path = f"/admin/privacy/cancellations/{cancellation_id}/erase"
    assert client.get(path).text.count("(optional)") == 1  # "Why, kept in the audit trail (optional)", said once
    wrong = submit_form(client, path, {"confirm": "someone@else.test"})
    assert wrong.status_code == 422 and "nothing was erased" in wrong.text
    done = submit_form(client, path, {"confirm": EMAIL.upper(), "why": "ticket 7"})
    assert done.status_code == 302

    left = [(t, c, v[:80]) for t, c, v in every_text_value(app) if any(s in v.lower() for s in SECRETS)]
    assert left == []
    # Nor in the application's log: no bound parameters, no message text.
    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records if not r.name.startswith("mail.log")]
    assert [line for line in logged if any(s in line.lower() for s in SECRETS)] == []

    with app.app_context():
        cancellation = db.session.get(Cancellation, cancellation_id)
        # The anonymous facts remain, so insights still add up.
        assert (cancellation.plan, float(cancellation.mrr), cancellation.state) == ("Team", 99.0, "summarized")
        assert cancellation.erased_at is not None and not cancellation.needs_contact
        answers = db.session.scalars(select(SurveyResponse.answers)).one()
        assert answers["main_reason"] == "It was too expensive for us" and "final_straw" not in answers
        assert cancellation.review.answers["icp_fit"] == "Yes, a good fit"
        # The opt-out outlives the erasure, as a hash, and still stops mail.
        assert suppression_for(EMAIL).address == address_hash(EMAIL)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.erase")).one()
        assert event.actor == logged_in_admin["email"] and "ticket 7" in event.detail
        assert event.client_address == "127.0.0.1"
        # Their replies by email went with them, the raw messages too.
        assert db.session.scalar(select(func.count()).select_from(CustomerReply)) == 0
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    detail = client.get(f"/cancellations/{cancellation_id}")
    assert "Erased customer" in detail.text and "personal data was erased" in detail.text


def test_erased_address_opted_out_is_still_suppressed(app, owner, smtp, runner):
    log(app, owner["email"], customer_email=EMAIL, customer_name=NAME)
    with app.app_context():
        suppress(EMAIL, "link")
        db.session.commit()
    assert runner.invoke(args=["customers", "erase", EMAIL, "--yes"]).exit_code == 0
    smtp.clear()
    log(app, owner["email"], customer_email=EMAIL, customer_name="Back Again")
    deliver(app)
    assert smtp.to(EMAIL) == []  # the new invitation was skipped: the hash matched
    assert runner.invoke(args=["customers", "erase", "nobody@x.test", "--yes"]).exit_code == 1


def test_retention_anonymises_old_postmortems_only(app, owner, smtp):
    app.config["RETENTION_MONTHS"] = 12
    old = log(app, owner["email"], customer_email="old@client.test", customer_name="Olde Timer",
              cancelled_at=utcnow() - timedelta(days=400))  # fmt: skip
    recent = log(app, owner["email"], customer_email="new@client.test", customer_name="Newt Comer")
    from feedback.privacy.retention import anonymise_expired

    with app.app_context():
        assert anonymise_expired(utcnow()) == 1
        assert anonymise_expired(utcnow()) == 0
        assert db.session.get(Cancellation, old).customer_name == "Erased customer"
        assert db.session.get(Cancellation, recent).customer_name == "Newt Comer"
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "cancellation.anonymise")).one()
        assert event.actor == "retention job"
    left = [v for _, _, v in every_text_value(app) if "olde" in v.lower() or "old@client.test" in v.lower()]
    assert left == []
    app.config["RETENTION_MONTHS"] = 0
    with app.app_context():
        assert anonymise_expired(utcnow() + timedelta(days=4000)) == 0


def test_retention_runs_as_a_job_in_the_worker(app, owner, smtp, runner):
    app.config["RETENTION_MONTHS"] = 1
    old = log(app, owner["email"], cancelled_at=utcnow() - timedelta(days=40))
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "privacy.retention: 1 postmortem anonymised" in result.output
    with app.app_context():
        assert db.session.get(Cancellation, old).erased_at is not None


RETENTION_WORDS = {
    "en": ("We keep your answers for 12 months after you leave", "We keep your answers until you ask us to remove"),
    "de": ("Wir bewahren Ihre Antworten 12 Monate nach Ihrer Kündigung auf", "bis Sie uns bitten, sie zu entfernen"),
    "fr": ("Nous conservons vos réponses 12 mois après votre départ", "jusqu’à ce que vous nous demandiez de les"),
}


@pytest.mark.parametrize("locale", sorted(RETENTION_WORDS))
def test_the_survey_says_how_long_answers_are_kept_and_whom_to_ask(locale, app, owner, smtp, database_url):
    from conftest import make_config

    from feedback import create_app
    from feedback.settings.operations import save_settings

    log(app, owner["email"], customer_email="kept@client.test", locale=locale)
    deliver(app)
    path = link_in(smtp.one("kept@client.test")).removeprefix("http://localhost")
    kept_for, until_asked = RETENTION_WORDS[locale]
    mailto = f'<a href="mailto:{owner["email"]}">{owner["email"]}</a>'

    unset = app.test_client().get(path).text  # RETENTION_MONTHS unset: kept until removal is asked for
    assert until_asked in unset and kept_for not in unset and mailto in unset

    a_year = create_app(make_config(database_url, smtp, RETENTION_MONTHS=12))
    page = a_year.test_client().get(path).text
    assert kept_for in page and until_asked not in page and mailto in page
    with a_year.app_context():  # the team's reply address, when the settings give one, is whom to ask
        save_settings({"reply_to": "privacy@ourco.test"})
        db.session.commit()
    assert 'href="mailto:privacy@ourco.test"' in a_year.test_client().get(path).text


def test_an_erased_postmortem_says_what_it_still_allows_and_its_link_is_closed(app, client, smtp, logged_in_admin):
    cancellation_id = log(app, logged_in_admin["email"], customer_email="gone@client.test")
    deliver(app)
    survey = link_in(smtp.one("gone@client.test", "")).removeprefix("http://localhost")
    assert client.get(survey).status_code == 200
    path = f"/admin/privacy/cancellations/{cancellation_id}/erase"
    assert submit_form(client, path, {"confirm": "gone@client.test"}).status_code == 302
    page = " ".join(client.get(f"/cancellations/{cancellation_id}").text.split())
    assert "open until" not in page and "Closed: the customer's personal data was erased" in page
    assert "What this postmortem still allows: its owner can write the review" in page
    assert "without their name, address or own words" in page
    assert client.get(survey).status_code != 200  # nobody's words can be written back into it
