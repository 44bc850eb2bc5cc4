"""A name that is itself an RFC 2047 encoded word reaches the mail app as the text that was typed, not decoded."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from conftest import deliver, log

#: "Hi\r\nBcc: spy@evil.test", encoded: a mail app that decodes it shows a line break and a Bcc: line.
ENCODED_WORD = "=?utf-8?b?SGkNCkJjYzogc3B5QGV2aWwudGVzdA==?="


def received_by(smtp, address: str):
    """The message as the sink received it, its raw bytes parsed (and encoded words decoded) by the email package."""
    envelopes = [e for e in smtp.envelopes if address in e.rcpt_tos]
    assert len(envelopes) == 1
    return envelopes[0], email.message_from_bytes(envelopes[0].original_content, policy=email.policy.default)


@pytest.mark.parametrize(
    "name",
    [
        ENCODED_WORD,
        f"{ENCODED_WORD} {ENCODED_WORD}",
        "=?utf-8?q?Casey=0D=0ABcc:_spy@evil.test?= Smith",
        "=?ISO-8859-1?Q?Andr=E9?= Pirard",
        "Jörg =?utf-8?b?SGkNCkJjYzogc3B5QGV2aWwudGVzdA==?=",
    ],
)
def test_a_name_that_is_an_encoded_word_is_shown_as_typed(app, smtp, owner, name):
    log(app, owner["email"], customer_name=name, customer_email="casey@client.test")
    deliver(app)
    envelope, message = received_by(smtp, "casey@client.test")
    assert envelope.rcpt_tos == ["casey@client.test"]
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (name, "casey@client.test")
    first_name = name.split()[0]
    assert str(message["Subject"]).endswith(f", {first_name}")
    for header in ("To", "Subject"):
        assert not re.search(r"[\r\n]", str(message[header]))
    assert message["Bcc"] is None
    raw_head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert ENCODED_WORD.encode() not in raw_head and b"?b?SGkNCkJjYzog" not in raw_head


def test_plain_names_and_subjects_stay_as_they_are(app, smtp, owner):
    log(app, owner["email"], customer_name="Casey Customer", customer_email="casey@client.test")
    deliver(app)
    envelope, _ = received_by(smtp, "casey@client.test")
    raw_head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert b"To: Casey Customer <casey@client.test>" in raw_head
    assert b"=?" not in raw_head
