from conftest import deliver, log

from feedback.extensions import db
from feedback.inbound.addresses import reply_address_for
from feedback.inbound.models import InboundMessage
from feedback.postmortem.models import Cancellation


def test_smoke(app_config, owner, smtp, tmp_path):
    from feedback import create_app

    app_config["REPLY_ADDRESS"] = "replies@acme.test"
    app = create_app(app_config)
    cid = log(app, owner["email"])
    deliver(app)
    with app.app_context():
        key_addr = reply_address_for(cid)
    invitation = smtp.one(to="casey@client.test")
    assert invitation["Reply-To"] == key_addr, invitation["Reply-To"]
    raw = (
        f"From: Casey <casey@client.test>\r\nTo: {key_addr}\r\nSubject: Re: Thank you\r\n"
        "Message-ID: <r1@client.test>\r\n\r\nThe price doubled, that's all.\r\n\r\n"
        "On Tue, 1 Dec 2026, Acme <hello@acme.test> wrote:\r\n> ##- Please type your reply above this line -##\r\n"
    ).encode()
    with app.app_context():
        from feedback.inbound.operations import process_and_commit, store_message

        m, stored = store_message(raw, "pipe")
        assert stored
        assert process_and_commit(m.id) == "reply", db.session.get(InboundMessage, m.id).note
        c = db.session.get(Cancellation, cid)
        assert c.replies[0].text == "The price doubled, that's all.", c.replies[0].text
        assert c.state == "answered"
        m2, stored2 = store_message(raw, "pipe")
        assert not stored2
