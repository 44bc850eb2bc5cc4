"""Password reset requests under attack: flooded, timed, fed a NUL; the page says the same whatever happens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from conftest import csrf_token, deliver, submit_form
from test_security import assert_too_many, redis_limits  # noqa: F401 - the fixture, counted in the real Redis

ROOT = Path(__file__).resolve().parent.parent
RESET = "/reset-password/"


def ask(client: Any, address: str, client_address: str = "192.0.2.1") -> Any:
    page = client.get(RESET, environ_base={"REMOTE_ADDR": client_address})
    return client.post(
        RESET,
        data={"csrf_token": csrf_token(page.text), "email": address},
        environ_base={"REMOTE_ADDR": client_address},
    )


def test_one_reset_email_per_address_however_often_and_wherever_from(redis_limits, app, client, smtp, owner):  # noqa: F811
    answers = [ask(client, owner["email"], f"192.0.2.{n}") for n in range(1, 7)]
    answers += [ask(client, owner["email"].upper(), "198.51.100.7")]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text.replace(owner["email"].upper(), owner["email"]) for answer in answers}) == 1  # silently
    deliver(app)
    assert len(smtp.to(owner["email"])) == 1
    # An address without an account is counted the same way, so the limit tells no one which addresses are staff.
    assert {ask(client, "nobody@acme.test", f"192.0.2.{n}").status_code for n in range(1, 4)} == {200}


def test_one_client_address_can_ask_only_so_often(redis_limits, app, client, smtp, owner):  # noqa: F811
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "3 per minute"
    for n in range(3):
        assert ask(client, f"someone{n}@acme.test").status_code == 200
    refused = ask(client, owner["email"])
    assert_too_many(refused)
    assert refused.mimetype == "text/html" and "Slow down a little" in refused.text
    assert ask(client, owner["email"], client_address="192.0.2.2").status_code == 200
    assert client.get(RESET).status_code == 200  # the page itself is not limited
    deliver(app)
    assert len(smtp.to(owner["email"])) == 1


def calls_while(action: Any) -> set[tuple[str, str]]:
    """Every function of Farewell's and of its templates that ran during `action`, by file and name."""
    seen: set[tuple[str, str]] = set()
    ours = tuple(str(ROOT / part) for part in ("feedback", "emails", "templates"))

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(ours):
            seen.add((str(Path(frame.f_code.co_filename).relative_to(ROOT)), frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return seen


def test_a_reset_does_the_same_work_whether_or_not_the_address_is_staff(app, client, smtp, owner):
    """Who is staff must not show in the time a request takes: the same code runs for both, token and email
    rendering included; only the rows a real reset writes (outbox, audit trail) are its own."""
    ask(client, "warm-up@acme.test")  # the first request of a process loads templates and fills caches
    known = calls_while(lambda: ask(client, owner["email"]))
    unknown = calls_while(lambda: ask(client, "nobody@acme.test"))
    only_known = {(path, name) for path, name in known - unknown if not path.startswith("feedback/audit/")}
    writing = {("feedback/mail/outbox.py", "store")}
    timestamps = {("feedback/db.py", "process_bind_param"), ("feedback/db.py", "process_result_value")}  # its rows'
    assert writing <= only_known <= writing | timestamps
    assert {("emails/password_reset.txt", "root"), ("emails/password_reset.html", "root")} <= unknown
    assert ("feedback/signing.py", "sign") in unknown and ("feedback/mail/rendering.py", "mime_bytes") in unknown
    deliver(app)
    assert smtp.to("nobody@acme.test") == [] and smtp.to("nobody@farewell.invalid") == []
    assert len(smtp.to(owner["email"])) == 1


def test_a_nul_in_the_address_is_refused_beside_the_field(client, owner):
    response = submit_form(client, RESET, {"email": "olivia\x00@acme.test"})
    assert response.status_code == 422
    assert "Must be a single line, without control characters" in response.text
