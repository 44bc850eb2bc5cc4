"""The receiving server's verdict: a reply whose From: nothing vouches for is held for the owner, not attached."""

from __future__ import annotations

import re
from typing import Any

import authres
import pytest
from conftest import csrf_token, deliver, make_config
from sqlalchemy import select
from test_inbound import CUSTOMER, invited, receive, shaped
from test_inbound_mailgun import post, signed

from feedback.extensions import db
from feedback.inbound.models import InboundMessage
from feedback.inbound.verdict import judge
from feedback.postmortem.models import Cancellation

MX = "mx.acme.test"


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    return make_config(
        database_url,
        smtp,
        REPLY_ADDRESS="replies@acme.test",
        INBOUND_AUTHSERV_ID=MX,
        MAILGUN_SIGNING_KEY="key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
    )


def results(value: str) -> str:
    """An Authentication-Results value as a receiving server writes it, checked with authres (RFC 8601's parser)
    so that each fixture is one a real parser reads as meant."""
    authres.AuthenticationResultsHeader.parse_value(value)
    return value


PASS = results(
    f"{MX}; spf=pass smtp.mailfrom=casey@client.test; dkim=pass header.d=client.test; "
    "dmarc=pass header.from=client.test"
)
DMARC_FAIL = results(
    f"{MX}; spf=fail smtp.mailfrom=casey@client.test; dkim=none; dmarc=fail (p=reject) header.from=client.test"
)
DKIM_ALIGNED = results(
    f"{MX}; spf=softfail smtp.mailfrom=bounce@esp.test; dkim=pass header.d=mail.client.test header.s=s1"
)
SPF_ELSEWHERE = results(f"{MX}; spf=pass smtp.mailfrom=spammer@evil.test; dkim=pass header.d=evil.test")
FORGED_ELSEWHERE = results("mx.evil.test; spf=pass smtp.mailfrom=casey@client.test; dmarc=pass header.from=client.test")


@pytest.mark.parametrize(
    ("headers", "outcome", "detail"),
    [
        ([PASS], "pass", "DMARC passed for client.test."),
        ([DMARC_FAIL], "fail", "DMARC failed for client.test."),
        ([DKIM_ALIGNED], "pass", "DKIM passed for mail.client.test, the From: domain's."),
        ([SPF_ELSEWHERE], "fail", "Neither SPF nor DKIM passed for client.test."),
        # Only our server's header counts: one the sender wrote under another authserv-id is not read.
        ([FORGED_ELSEWHERE], "fail", f"No Authentication-Results from {MX} (INBOUND_AUTHSERV_ID)"),
        ([FORGED_ELSEWHERE, DMARC_FAIL], "fail", "DMARC failed for client.test."),
        ([f"{MX}; ;;; = garbage"], "fail", f"No Authentication-Results from {MX}"),
        # The topmost of ours is the one our server added; one under it, claiming our id, came with the message.
        ([DMARC_FAIL, PASS], "fail", "DMARC failed for client.test."),
        ([f"{MX}; ;;; = garbage", PASS], "fail", f"No Authentication-Results from {MX}"),
        ([PASS.replace(MX, MX + ".evil.test"), PASS], "pass", "DMARC passed"),
        ([PASS.replace(MX, MX.upper())], "pass", "DMARC passed"),
    ],
)
def test_only_our_servers_authentication_results_are_read(headers, outcome, detail):
    verdict = judge(CUSTOMER, headers, [], MX, None)
    assert verdict.outcome == outcome and verdict.detail.startswith(detail)


def test_without_a_configured_server_nothing_is_read_and_the_verdict_says_so():
    assert judge(CUSTOMER, [PASS], [], "", None).outcome == "unchecked"


def with_results(raw: bytes, *values: str) -> bytes:
    headers = b"".join(f"Authentication-Results: {value}\r\n".encode() for value in values)
    return headers + raw


def test_a_reply_failing_dmarc_is_held_for_the_owner_who_attaches_or_discards_it(
    app, owner, other_owner, client, auth, smtp
):
    cancellation_id, address, _ = invited(app, owner)
    raw = with_results(shaped("reply_gmail_en.eml", address, sender=CUSTOMER), DMARC_FAIL)
    held = receive(app, raw)
    assert held.status == "held" and held.cancellation_id == cancellation_id
    assert held.note.startswith("Held for the owner's review: DMARC failed for client.test.")
    assert held.verdict["outcome"] == "fail" and held.verdict["source"] == f"Authentication-Results from {MX}"
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).replies == []
    deliver(app)
    assert [m for m in smtp.to(owner["email"]) if "replied" in str(m["Subject"])] == []

    # A colleague can't review it; the owner sees it on the postmortem, with the verdict, and attaches it.
    auth.login(other_owner["email"])
    page = client.get("/cancellations/")
    refused = client.post(
        f"/cancellations/{cancellation_id}/held/{held.id}/attach", data={"csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 403
    auth.logout()
    auth.login(owner["email"])
    page = client.get(f"/cancellations/{cancellation_id}")
    section = page.text[page.text.index('id="held"') :]
    assert "Held for your review" in section and "DMARC failed for client.test." in section
    assert "The price doubled at renewal" in section
    attached = client.post(
        f"/cancellations/{cancellation_id}/held/{held.id}/attach", data={"csrf_token": csrf_token(page.text)}
    )
    assert attached.status_code == 302 and attached.headers["Location"].endswith(
        f"/cancellations/{cancellation_id}#held"
    )
    with app.app_context():
        message = db.session.get(InboundMessage, held.id)
        assert (message.status, message.note) == ("reply", "Attached by the owner after review.")
        assert len(db.session.get(Cancellation, cancellation_id).replies) == 1
    deliver(app)
    assert len([m for m in smtp.to(owner["email"]) if "replied" in str(m["Subject"])]) == 1
    again = client.post(
        f"/cancellations/{cancellation_id}/held/{held.id}/attach", data={"csrf_token": csrf_token(page.text)}
    )
    assert again.status_code == 302  # said kindly, attached once
    assert "no longer held for review" in client.get(again.headers["Location"]).text

    second = receive(app, re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <held-2@client.test>", raw, count=1))
    assert second.status == "held"
    page = client.get(f"/cancellations/{cancellation_id}")
    client.post(
        f"/cancellations/{cancellation_id}/held/{second.id}/discard", data={"csrf_token": csrf_token(page.text)}
    )
    with app.app_context():
        assert db.session.get(InboundMessage, second.id).status == "discarded"
        assert len(db.session.get(Cancellation, cancellation_id).replies) == 1
    assert 'id="held"' not in client.get(f"/cancellations/{cancellation_id}").text


def test_a_reply_vouched_for_is_attached_and_its_verdict_shown_to_admins(app, owner, admin, client, auth):
    _, address, _ = invited(app, owner)
    message = receive(app, with_results(shaped("reply_gmail_en.eml", address, sender=CUSTOMER), PASS, DMARC_FAIL))
    assert message.status == "reply" and message.verdict["outcome"] == "pass"
    auth.login(admin["email"])
    page = client.get(f"/admin/inbound/{message.id}").text
    assert (
        "Vouched for" in page and "DMARC passed for client.test." in page and "SPF pass, DKIM pass, DMARC pass" in page
    )


def test_with_the_server_configured_a_reply_without_its_verdict_is_held(app, owner):
    _, address, _ = invited(app, owner)
    assert receive(app, shaped("reply_gmail_en.eml", address, sender=CUSTOMER)).status == "held"


def dkim_signed(raw: bytes, domain: str) -> bytes:
    return f"DKIM-Signature: v=1; a=rsa-sha256; d={domain}; s=s1; h=from:to:subject; bh=x; b=y\r\n".encode() + raw


def test_mailguns_spf_and_dkim_fields_are_its_verdict(app, client, owner):
    _, address, _ = invited(app, owner)
    raw = shaped("reply_gmail_en.eml", address, sender=CUSTOMER)
    failing = signed(raw, recipient=address)
    failing.update({"X-Mailgun-Spf": "Fail", "X-Mailgun-Dkim-Check-Result": "Fail"})
    assert post(client, failing).json["status"] == "held"
    passing = signed(
        dkim_signed(re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <mg-2@client.test>", raw), "client.test"),
        recipient=address,
    )
    passing.update({"X-Mailgun-Spf": "Neutral", "X-Mailgun-Dkim-Check-Result": "Pass"})
    assert post(client, passing).json["status"] == "reply"
    # DKIM passed, but for another domain's signature, and SPF for the envelope sender's own domain only.
    elsewhere = signed(
        dkim_signed(re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <mg-3@client.test>", raw), "evil.test"),
        recipient=address,
    )
    elsewhere.update({"X-Mailgun-Spf": "Pass", "X-Mailgun-Dkim-Check-Result": "Pass", "sender": "x@evil.test"})
    assert post(client, elsewhere).json["status"] == "held"
    with app.app_context():
        verdicts = db.session.scalars(select(InboundMessage.verdict).order_by(InboundMessage.id)).all()
    assert [v["source"] for v in verdicts] == ["Mailgun"] * 3
    assert verdicts[1]["detail"] == "DKIM passed for client.test, the From: domain's."
