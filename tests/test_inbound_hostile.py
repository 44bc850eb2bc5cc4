"""Mail shaped to break intake (issue 31): nested a thousand deep, blank lines by the ten thousand, blockquotes
that multiply, charsets that raise, NUL bytes. Each goes through parse() and through every way in, and must
neither stop the messages after it nor hold the worker.

Every parse runs under a hang guard (SIGALRM, 10 s), so a regression fails instead of hanging the run; it is no
timing assertion. What is asserted is the size of what comes out.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import make_config, run_jobs
from dovecot import IMAPServer, dovecot_server, imap  # noqa: F401 - the fixtures
from sqlalchemy import select
from test_inbound import CUSTOMER, flask_receive, invited, receive, shaped
from test_inbound_mailgun import SIGNING_KEY, post, signed

from feedback.extensions import db
from feedback.inbound.models import InboundMessage
from feedback.inbound.operations import process_stored, retry, store_message
from feedback.inbound.parsing import MessageUnreadable, message_key, parse
from feedback.inbound.text import MAX_QUOTE_DEPTH, MAX_TEXT, html_to_text, new_text
from feedback.postmortem.models import Cancellation

HANG_GUARD_SECONDS = 10


@pytest.fixture
def app_config(database_url: str, smtp: Any, imap: IMAPServer) -> dict[str, Any]:  # noqa: F811
    return make_config(
        database_url,
        smtp,
        REPLY_ADDRESS="replies@acme.test",
        MAILGUN_SIGNING_KEY=SIGNING_KEY,
        INBOUND_IMAP_URL=imap.url,
    )


class Hung(BaseException):
    """Not an Exception, so that no `except Exception` on the way (the library's guard, a job's) can swallow it."""


@contextmanager
def hang_guard(seconds: int = HANG_GUARD_SECONDS) -> Iterator[None]:
    """Fails the test when what it wraps is still running after `seconds` (the regex engine checks for signals)."""

    def hung(signum: int, frame: Any) -> None:
        raise Hung(f"still busy after {seconds} s: the parse is not bounded")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def message(body: bytes, content_type: str = "text/plain; charset=utf-8", subject: str = "Re: Thank you, Casey.",
            to: str = "replies@acme.test", message_id: str = "hostile@client.test") -> bytes:  # fmt: skip
    head = (
        f"From: Casey <{CUSTOMER}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + body


def nested_multipart(depth: int = 1000, **headers: str) -> bytes:
    """The attack's message: `depth` multipart/mixed parts, each inside the one before, a short text innermost."""
    inner = b"Content-Type: text/plain\r\n\r\nThe price doubled.\r\n"
    for level in reversed(range(1, depth)):
        boundary = f"b{level}".encode()
        inner = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n"
            + inner + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return message(b"--b0\r\n" + inner + b"\r\n--b0--\r\n", "multipart/mixed; boundary=b0", **headers)


def blank_lines(count: int) -> bytes:
    """Many blank lines that end in a non-space: quadratic for a pattern like `\\n\\s*(…)$`."""
    return message(b"Too dear for us.\r\n" + b"\r\n" * count + b"x")


def blockquotes(size: int) -> bytes:
    """Nested blockquotes, then many short blocks: each block written with one '> ' per level multiplies."""
    html = "<blockquote>" * (size // 24) + "<p>x</p>" * (size // 16)
    return message(html.encode(), "text/html; charset=utf-8")


SHAPES: dict[str, Callable[[], bytes]] = {
    "nested multipart, 1,000 deep": nested_multipart,
    "30,000 blank lines, then a non-space": lambda: blank_lines(30_000),
    "1 MiB of blank lines": lambda: blank_lines(512 * 1024),
    "nested blockquotes, 16 KB": lambda: blockquotes(16 * 1024),
    "nested blockquotes, 78 KB": lambda: blockquotes(78 * 1024),
    "charset=idna": lambda: message(b"Too dear.\r\n" + b"a" * 70 + b"..\r\n", "text/plain; charset=idna"),
    "charset=punycode": lambda: message("Trop cher, désolé.\r\n".encode(), "text/plain; charset=punycode"),
    "NUL bytes": lambda: message(b"Too\x00 dear.\r\n", subject="Re: \x00Thank you"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_parse_reads_each_shape_in_bounds_or_says_it_is_unreadable(shape):
    raw = SHAPES[shape]()
    with hang_guard():
        assert message_key(raw) == "hostile@client.test"  # the key reads the headers only: any message has one
        try:
            parsed = parse(raw)
        except MessageUnreadable as unreadable:
            assert shape.startswith("nested multipart")
            assert "more than 200 parts" in str(unreadable)
            return
    assert not shape.startswith("nested multipart")
    assert len(parsed.text) <= MAX_TEXT
    assert "\x00" not in parsed.text + parsed.subject
    assert parsed.text.startswith(("Too", "Trop", "> " * MAX_QUOTE_DEPTH + "x"))


def test_quoted_html_shows_at_most_five_levels_and_stops_at_its_cap():
    with hang_guard():
        text = html_to_text("<blockquote>" * 3000 + "<p>x</p>" * 5000)
        deep = html_to_text("<blockquote>" * 8 + "<p>Deep</p>" + "</blockquote>" * 8)
    assert len(text) <= 3 * MAX_TEXT
    assert all(line.count(">") <= MAX_QUOTE_DEPTH and line.strip("> ") in ("x", "") for line in text.split("\n"))
    assert deep == "> " * MAX_QUOTE_DEPTH + "Deep"


@pytest.mark.parametrize(
    "body",
    [
        "Hello\n" + "\n" * 30_000 + "x",
        "Hello\n" + " \t\n" * 100_000 + "x",
        "On Mon wrote " * 8_000,  # one long line: the library's "On … wrote:" pattern is quadratic in it
        "\n".join(["On x " * 40] * 500),  # many lines of it
        "Hello\n" + " " * 500_000 + "##- x -##",
    ],
    ids=["blank lines", "whitespace lines", "a long 'On … wrote' line", "many 'On …' lines", "spaces then a marker"],
)
def test_the_typed_text_is_found_in_bounds(body):
    with hang_guard():
        text = new_text(body)
    assert len(text) <= MAX_TEXT
    assert text.startswith(("Hello", "On "))


def test_the_signature_and_attribution_rules_still_apply():
    assert new_text("Too dear.\n\n\nVon meinem iPhone gesendet") == "Too dear."
    assert new_text("Trop cher.\n\nEnvoyé de mon iPad") == "Trop cher."
    assert new_text("Too dear.\n\nOn Tue, 1 Dec 2026, Olivia <o@acme.test> wrote:") == "Too dear."
    long_line = "word " * 100
    assert new_text(f"{long_line}\n\nThanks").startswith(long_line.strip())  # a long line comes back whole


# --- Through every way in ------------------------------------------------------------------------------


def test_stored_then_processed_the_poison_is_unreadable_and_listed_and_the_next_reply_attached(
    app, owner, admin, client, auth
):
    cancellation_id, address, _ = invited(app, owner)
    with hang_guard():
        poison = receive(app, nested_multipart(to=address))
    assert poison.status == "unreadable"
    assert "more than 200 parts" in poison.note
    with app.app_context():
        with hang_guard():
            for shape in sorted(SHAPES):
                raw = SHAPES[shape]().replace(b"replies@acme.test", address.encode())
                store_message(raw.replace(b"hostile@", shape.replace(" ", "-").encode() + b"@"), "pipe")
            counts = process_stored()
        assert counts == {"unreadable": 1, "reply": 7}
        replies = db.session.get(Cancellation, cancellation_id).replies
        assert replies and all(len(reply.text) <= MAX_TEXT and "\x00" not in reply.text for reply in replies)
    auth.login(admin["email"])
    listed = client.get("/admin/inbound/").text
    assert "Unreadable (2)" in listed
    assert "more than 200 parts" in listed
    page = client.get(f"/admin/inbound/{poison.id}")
    assert page.status_code == 200 and "kept as it came, unread" in page.text


def test_an_unreadable_message_can_be_tried_again_and_discarded(app, owner):
    _, address, _ = invited(app, owner)
    poison = receive(app, nested_multipart(to=address))
    with app.app_context():
        message_row = db.session.get(InboundMessage, poison.id)
        retry(message_row)
        db.session.commit()
        assert process_stored() == {"unreadable": 1}


def test_a_nul_byte_reply_is_attached_on_either_database_and_a_retry_works(app, owner):
    cancellation_id, address, _ = invited(app, owner)
    raw = message(b"Too\x00 dear.\r\n", subject="Re: \x00Thank you", to=address, message_id="nul\x00@client.test")
    with hang_guard():
        found = receive(app, raw)
    assert found.status == "reply", found.note
    assert (found.subject, found.text, found.message_id) == ("Re: Thank you", "Too dear.", "nul@client.test")
    with app.app_context():
        assert db.session.get(Cancellation, cancellation_id).replies[0].text == "Too dear."


def test_the_mailgun_route_answers_200_for_each_shape(app, client, owner):
    _, address, _ = invited(app, owner)
    for shape in sorted(SHAPES):
        raw = SHAPES[shape]().replace(b"hostile@", shape.replace(" ", "-").encode() + b"@")
        with hang_guard():
            response = post(client, signed(raw, recipient=address))
        assert response.status_code == 200, (shape, response.text)
        expected = ("unreadable",) if shape.startswith("nested multipart") else ("reply", "unmatched")
        assert response.json["status"] in expected, shape


@pytest.mark.parametrize("shape", ["nested multipart, 1,000 deep", "NUL bytes", "charset=idna"])
def test_the_pipe_command_exits_0_for_each_shape(app, owner, smtp, database_url, shape):
    _, address, _ = invited(app, owner)
    done = flask_receive(database_url, smtp, SHAPES[shape]().replace(b"replies@acme.test", address.encode()))
    assert done.returncode == 0, done.stderr
    assert (b"(unreadable)" if shape.startswith("nested multipart") else b"(reply)") in done.stdout


def test_an_imap_poll_passes_the_poison_and_stores_the_reply_after_it(app, owner, imap):  # noqa: F811
    cancellation_id, address, _ = invited(app, owner)
    imap.deliver(
        nested_multipart(to=address),
        blank_lines(30_000).replace(b"replies@acme.test", address.encode()).replace(b"hostile@", b"blank@"),
        shaped("reply_outlook_fr.eml", address, sender=CUSTOMER),
    )
    with hang_guard(30):
        reports = run_jobs(app)
    assert reports["inbound.poll-imap"] == "3 messages stored"
    assert reports["inbound.process"] == "2 reply, 1 unreadable"
    assert all(b"\\Seen" in flags for flags in imap.flags())
    with app.app_context():
        texts = [reply.text for reply in db.session.get(Cancellation, cancellation_id).replies]
        assert "Le produit était bien, mais trop compliqué pour notre petite équipe." in texts
        statuses = db.session.scalars(select(InboundMessage.status).order_by(InboundMessage.id)).all()
        assert statuses == ["unreadable", "reply", "reply"]


def test_an_imap_poll_goes_on_past_a_message_it_cannot_store(app, owner, imap, monkeypatch):  # noqa: F811
    from feedback.inbound import jobs

    _, address, _ = invited(app, owner)
    imap.deliver(shaped("reply_gmail_en.eml", address), shaped("reply_apple_en.eml", address))
    real = jobs.store_message
    calls: list[int] = []

    def first_fails(raw: bytes, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("this one message cannot be stored")
        return real(raw, **kwargs)

    monkeypatch.setattr(jobs, "store_message", first_fails)
    with app.app_context():
        assert jobs.poll_imap(None) == "1 message stored, 1 could not be stored, left unseen"
    assert sorted(imap.flags()) == [(), (b"\\Seen",)]
