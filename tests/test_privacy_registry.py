"""Personal data is declared by every model; received mail is the postmortem's it was matched to; erased people stay
erased; an upload nobody confirms does not keep its customers' rows (issue 31, items 4, 10 and 24)."""

from __future__ import annotations

import io
import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from conftest import csrf_token, deliver, log, make_config, run_jobs
from sqlalchemy import func, select, update

from feedback.db import undeclared_columns, utcnow
from feedback.extensions import db
from feedback.imports.models import ImportRun
from feedback.inbound.addresses import reply_address_for
from feedback.inbound.models import InboundMessage
from feedback.inbound.operations import process_stored, store_message
from feedback.mail.models import Suppression
from feedback.mail.suppression import address_hash
from feedback.postmortem.models import Cancellation, CancellationEvent

HER, HIM = "casey@client.test", "blake@other.test"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(database_url, smtp, REPLY_ADDRESS="replies@acme.test")


def test_every_text_json_and_binary_column_says_whether_it_is_personal(app, monkeypatch):
    assert undeclared_columns() == []
    # The check is real: a column that stops saying fails it, and so does a declaration naming no column.
    monkeypatch.setattr(Cancellation, "not_personal_data", ("currency", "source", "state", "locale", "feedback"))
    monkeypatch.setattr(InboundMessage, "personal_data", (*InboundMessage.personal_data, "gone"))
    assert undeclared_columns() == [
        "cancellations.plan",
        "inbound_messages.gone (declared, but no such column)",
    ]


def reply(sender: str, to: str, body: str, message_id: str) -> bytes:
    return (
        f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: Re: Thank you for your time\r\nMessage-ID: <{message_id}>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def receive(app, raw: bytes) -> dict[str, int]:
    with app.app_context():
        store_message(raw, "pipe")
        return process_stored()


def test_mail_is_the_postmortem_s_it_was_matched_to_not_its_from_header_s(app, owner, smtp, runner):
    hers = log(app, owner["email"], customer_email=HER, customer_name="Casey Client")
    his = log(app, owner["email"], customer_email=HIM, customer_name="Blake Other")
    deliver(app)
    with app.app_context():
        his_address, her_address = reply_address_for(his), reply_address_for(hers)
    # Someone writes "From: Casey" to Blake's postmortem: it is kept there, for his owner to judge, not hers.
    receive(app, reply(HER, his_address, "Blake's account: please cancel it too.", "forged-1@x.test"))
    receive(app, reply(HER, her_address, "The price was the reason.", "real-1@client.test"))
    exported = runner.invoke(args=["customers", "export", HER])
    assert exported.exit_code == 0, exported.output
    received = json.loads(exported.output)["mail_received"]
    assert [m["cancellation_id"] for m in received] == [hers]

    assert runner.invoke(args=["customers", "erase", HER, "--yes"]).exit_code == 0
    with app.app_context():
        kept = db.session.scalars(select(InboundMessage)).all()
        assert [(m.cancellation_id, m.text) for m in kept] == [(his, "Blake's account: please cancel it too.")]


def test_after_an_erasure_her_old_keys_bring_nothing_back(app, owner, smtp, client, runner):
    cancellation_id = log(app, owner["email"], customer_email=HER, customer_name="Casey Client")
    deliver(app)
    invitation = smtp.one(HER)
    unsubscribe = invitation["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    with app.app_context():
        her_address = reply_address_for(cancellation_id)
    assert runner.invoke(args=["customers", "erase", HER, "--yes"]).exit_code == 0

    # A reply to her old email, by its key or by the Message-ID it answers: counted, never stored.
    assert receive(app, reply(HER, her_address, "Casey here again.", "late-1@client.test")) == {"dropped": 1}
    answering = reply(HER, "hello@acme.test", "Casey once more.", "late-2@client.test")
    answering = answering.replace(b"Subject:", f"In-Reply-To: {invitation['Message-ID']}\r\nSubject:".encode())
    assert receive(app, answering) == {"dropped": 1}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0

    # Her old one-click unsubscribe still works, and the list keeps only the hash.
    done = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Suppression.address)).all() == [address_hash(HER)]
        details = db.session.scalars(
            select(CancellationEvent.detail).where(CancellationEvent.cancellation_id == cancellation_id)
        ).all()
        assert not [detail for detail in details if HER in detail]


_clock = itertools.count(1)


def upload_and_check(app, client, name: str) -> str:
    page = client.get("/cancellations/import")
    row = f"Casey Client,{HER},Client Co,Team,10,2025-01-01,,cus_c1\n"
    data = {
        "csrf_token": csrf_token(page.text),
        "kind": "customers",
        "file": (io.BytesIO(("name,email,company,plan,mrr,customer_since,owner_email,external_id\n" + row).encode()),
                 name),
    }  # fmt: skip
    uploaded = client.post("/cancellations/import", data=data, content_type="multipart/form-data")
    assert uploaded.status_code == 303, uploaded.text
    run_jobs(app, utcnow() + timedelta(seconds=10 * next(_clock)))  # a little later each time: imports.work is due
    return uploaded.headers["Location"].removeprefix("http://localhost")


def test_the_uploader_discards_an_upload_and_one_never_confirmed_expires(app, client, logged_in_owner):
    path = upload_and_check(app, client, "first.csv")
    page = client.get(path)
    assert "Discard this upload" in page.text and "discarded 7 days after its check" in page.text
    assert client.post(path + "/discard").status_code == 400  # no CSRF token: refused
    discarded = client.post(path + "/discard", data={"csrf_token": csrf_token(page.text)})
    assert discarded.status_code == 303
    assert "Discarded by the uploader" in client.get(path).text
    assert client.post(path + "/confirm", data={"csrf_token": csrf_token(page.text)}).status_code == 409
    again = client.post(path + "/discard", data={"csrf_token": csrf_token(page.text)})
    assert again.status_code == 409

    waiting = upload_and_check(app, client, "second.csv")
    with app.app_context():
        runs = db.session.scalars(select(ImportRun).order_by(ImportRun.id)).all()
        assert [(r.status, r.data, r.problems) for r in runs[:1]] == [("failed", None, [])]
        assert runs[1].status == "checked" and HER.encode() in runs[1].data
        db.session.execute(update(ImportRun).values(checked_at=utcnow() - timedelta(days=7, minutes=1)))
        db.session.commit()
    reports = run_jobs(app, utcnow() + timedelta(hours=2))
    assert reports["privacy.retention"] == "1 unconfirmed import discarded"
    assert "not confirmed within 7 days" in client.get(waiting).text
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(ImportRun.data.is_not(None))) == 0
    assert run_jobs(app, utcnow() + timedelta(hours=4))["privacy.retention"] == ""


def test_two_erased_customers_told_about_one_change_stay_two_notices(app, owner, smtp, client, runner):
    from test_winback import answer_survey, done_change

    from feedback.auth.models import User
    from feedback.winback.models import WinbackNotice
    from feedback.winback.operations import tell_customer

    hers = log(app, owner["email"], customer_email=HER, customer_name="Casey Client")
    answer_survey(app, client, smtp, HER)
    his = log(app, owner["email"], customer_email=HIM, customer_name="Blake Other")
    answer_survey(app, client, smtp, HIM)
    item_id = done_change(app, hers)
    with app.app_context():
        from feedback.actions.models import ActionItem

        staff, item = db.session.get(User, owner["id"]), db.session.get(ActionItem, item_id)
        for cancellation_id in (hers, his):
            tell_customer(db.session.get(Cancellation, cancellation_id), item, "It is cheaper", "Hi, it is.", staff)
        db.session.commit()
    for address in (HER, HIM):
        erased = runner.invoke(args=["customers", "erase", address, "--yes"])
        assert erased.exit_code == 0, erased.output
    with app.app_context():
        emails = set(db.session.scalars(select(WinbackNotice.email)))
        assert emails == {address_hash(HER), address_hash(HIM)}
