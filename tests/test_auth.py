"""Staff accounts: the CLI creates them, /login lets them in, and only safe redirects follow."""

from __future__ import annotations

from conftest import make_config, submit_form
from sqlalchemy import select

from feedback import create_app
from feedback.auth.models import User
from feedback.extensions import db


def test_users_create_with_password(app, runner):
    result = runner.invoke(args=["users", "create", "Nia@Acme.test", "--name", "Nia Nakamura", "--role", "admin",
                                 "--password", "a long enough secret"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created admin nia@acme.test" in result.output
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.role == "admin"
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert "a long enough secret" not in user.password_hash


def test_users_create_prompts_for_the_password(app, runner, auth):
    result = runner.invoke(
        args=["users", "create", "pat@acme.test", "--name", "Pat Prompt"],
        input="prompted secret 1\nprompted secret 1\n",
    )
    assert result.exit_code == 0, result.output
    assert auth.login("pat@acme.test", "prompted secret 1").status_code == 302


def test_users_create_refuses_bad_input(app, runner, owner):
    cases = [
        (["users", "create", "not-an-email", "--name", "X", "--password", "long enough pw"], "not valid"),
        (["users", "create", owner["email"], "--name", "Dup", "--password", "long enough pw"], "already exists"),
        (["users", "create", "short@acme.test", "--name", "Short", "--password", "short"], "at least 10"),
        (["users", "create", "same@acme.test", "--name", "Same", "--password", "same@acme.test"], "not be the email"),
        (["users", "create", "role@acme.test", "--name", "Role", "--role", "boss", "--password", "long enough pw"],
         "Invalid value for '--role'"),
    ]  # fmt: skip
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert message in result.output, result.output
    with app.app_context():
        assert db.session.scalars(select(User.email)).all() == [owner["email"]]


def test_login_and_logout(client, auth, owner):
    assert auth.login(owner["email"], "wrong password").status_code == 401
    response = auth.login(owner["email"].upper())
    assert response.status_code == 302
    page = client.get("/cancellations/")
    assert "Olivia Owner" in page.text
    assert auth.logout().status_code == 302
    assert client.get("/cancellations/").status_code == 302


def test_login_error_keeps_the_email(client, owner):
    response = submit_form(client, "/login", {"email": owner["email"], "password": "nope"})
    assert response.status_code == 401
    assert f'value="{owner["email"]}"' in response.text
    assert "don&#39;t match an active account" in response.text


def test_login_needs_a_csrf_token(client, owner):
    response = client.post("/login", data={"email": owner["email"], "password": owner["password"]})
    assert response.status_code == 400


def test_next_only_redirects_within_the_site(auth, owner):
    for target in ("https://evil.test/", "//evil.test/path", "/\\evil.test", "/\t/evil.test", "/\r\n/x", "/\x7f/x"):
        response = auth.login(owner["email"], next_url=target)
        assert response.headers["Location"] == "/cancellations/", target
        auth.logout()
    assert auth.login(owner["email"], next_url="/cancellations/new").headers["Location"] == "/cancellations/new"


def test_deactivated_staff_cannot_log_in(app, auth, owner):
    with app.app_context():
        db.session.scalars(select(User)).one().active = False
        db.session.commit()
    assert auth.login(owner["email"]).status_code == 401


def test_session_cookie_is_secure_exactly_when_base_url_is_https(database_url, smtp, owner):
    for base_url, secure in (("http://127.0.0.1:5000", False), ("https://farewell.acme.test", True)):
        app = create_app(make_config(database_url, smtp, BASE_URL=base_url))
        client = app.test_client()
        response = submit_form(client, "/login", {"email": owner["email"], "password": owner["password"]})
        cookie = response.headers.get("Set-Cookie", "")
        assert cookie.startswith("session=")
        assert ("Secure" in cookie) is secure, (base_url, cookie)
        assert "HttpOnly" in cookie
