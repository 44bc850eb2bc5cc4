"""The admin settings page: stored in the database, defaults from configuration, used by every email and page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import deliver, link_in, log, submit_form, text_part
from sqlalchemy import select

from feedback.extensions import db
from feedback.settings.operations import accent_problem, contrast_with_white, current_settings, logo_problem
from feedback.surveys.models import Invitation

SETTINGS = "/admin/settings/"
EMPTY = {name: "" for name in ("company_name", "sender_name", "reply_to", "survey_intro", "survey_delay_minutes",
                                "survey_link_days", "logo_url", "accent_color")}  # fmt: skip


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def save(client, **values):
    return submit_form(client, SETTINGS, {**EMPTY, **values})


def test_defaults_come_from_configuration(app):
    with app.test_request_context():
        settings = current_settings()
        assert settings.company_name == "Acme Analytics"
        assert settings.sender_name == "Acme Analytics"
        assert settings.survey_link_days == 30 and settings.survey_delay_minutes == 0


def test_saved_settings_reach_emails_and_pages(app, client, smtp, logged_in_admin, owner):
    page = client.get(SETTINGS)
    assert page.status_code == 200 and 'placeholder="Acme Analytics"' in page.text
    response = save(client, company_name="Globex", sender_name="Globex Care", reply_to="care@globex.test",
                    survey_intro="We read every answer, truly.", survey_delay_minutes="30",
                    survey_link_days="3", logo_url="/static/favicon.svg", accent_color="#1d4ed8")  # fmt: skip
    assert response.status_code == 302
    assert 'value="Globex"' in client.get(SETTINGS).text
    assert save(client, company_name="Globex").status_code == 302  # the sender left empty: it follows the company
    sender_help = client.get(SETTINGS).text.split('id="sender_name-help">')[1].split("</p>")[0]
    assert "Left empty: the company name, Globex." in sender_help and "Acme Analytics" not in sender_help
    save(client, company_name="Globex", sender_name="Globex Care", reply_to="care@globex.test",
         survey_intro="We read every answer, truly.", survey_delay_minutes="30",
         survey_link_days="3", logo_url="/static/favicon.svg", accent_color="#1d4ed8")  # fmt: skip

    log(app, owner["email"], customer_email="kim@client.test", customer_name="Kim Lee")
    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.expires_at - invitation.created_at == timedelta(days=3, minutes=30)
    deliver(app)
    assert smtp.to("kim@client.test") == []  # the 30-minute delay
    deliver(app, now=invitation.created_at + timedelta(minutes=31))
    message = smtp.one("kim@client.test")
    assert "Thank you for your time with Globex" in str(message["Subject"])
    assert str(message["From"]) == "Globex Care <hello@acme.test>"
    assert str(message["Reply-To"]) == "care@globex.test"
    # Replies reach the team's address, and the email says so rather than naming the owner.
    assert "a person on the Globex team reads every reply" in text_part(message)
    assert "it goes straight to" not in text_part(message)

    survey = client.get(link_in(message).removeprefix("http://localhost")).text
    assert "We read every answer, truly." in survey
    assert '<img class="customer-logo" src="/static/favicon.svg" alt="Globex"' in survey
    assert "--accent: #1d4ed8" in survey

    # The introduction is the admin's English; a German customer keeps the translated one.
    log(app, owner["email"], customer_email="greta@client.test", customer_name="Greta Berg", locale="de")
    deliver(app, now=invitation.created_at + timedelta(hours=2))
    german = client.get(link_in(smtp.one("greta@client.test")).removeprefix("http://localhost")).text
    assert "We read every answer, truly." not in german and "Danke für Ihre Zeit mit Globex" in german


def test_empty_fields_hand_settings_back_to_configuration(app, client, logged_in_admin):
    save(client, company_name="Globex")
    save(client)
    with app.test_request_context():
        assert current_settings().company_name == "Acme Analytics"


def test_bad_values_are_refused_with_reasons(client, logged_in_admin):
    response = save(client, accent_color="#ffff00", logo_url="http://insecure.test/logo.png", reply_to="not mail",
                    survey_link_days="0", survey_delay_minutes="-5")  # fmt: skip
    assert response.status_code == 422
    assert "White text on #ffff00 has a contrast of 1.07:1; it needs at least 4.5:1" in response.text
    assert "an https:// address or a path on this site" in response.text
    assert "Enter an email address" in response.text
    assert "Between 1 and 365 days." in response.text and "Between 0 and 10,080 minutes" in response.text
    assert 'value="#ffff00"' in response.text  # what was typed stays


def test_colour_and_logo_rules():
    assert round(contrast_with_white("#0f766e"), 2) == 5.47
    assert accent_problem("#0f766e") is None
    assert "six hexadecimal digits" in accent_problem("teal")
    assert "contrast of 2.14:1" in accent_problem("#ff9900")  # orange on white is hard to read
    assert logo_problem("https://cdn.example.com/logo.svg") is None
    assert logo_problem("/static/logo.png") is None
    for bad in ("//evil.test/logo.png", "javascript:alert(1)", "http://x.test/l.png", "data:image/png;base64,AA"):
        assert logo_problem(bad)


def test_owners_cannot_change_settings(client, logged_in_owner):
    assert client.get(SETTINGS).status_code == 403


def test_pages_render_with_configuration_when_settings_cannot_be_read(tmp_path, smtp):
    from conftest import make_config

    from feedback import create_app

    app = create_app(make_config(f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}", smtp))  # no tables at all
    page = app.test_client().get("/login")
    assert page.status_code == 200 and "For Acme Analytics staff" in page.text
    with app.app_context():
        db.engine.dispose()


def test_names_for_email_headers_stay_on_one_line(app, client, smtp, logged_in_admin, owner):
    refused = save(client, company_name="Acme\r\nBcc: victim@evil.test", sender_name="Acme\nTeam")
    assert refused.status_code == 422
    assert "Keep this on one line: it appears in email headers." in refused.text
    assert 'id="company_name-error"' in refused.text and 'id="sender_name-error"' in refused.text
    # Nothing was stored, so cancellations still come in and their mail still goes.
    log(app, owner["email"], customer_email="after@client.test")
    deliver(app)
    message = smtp.one("after@client.test")
    assert "Bcc" not in message and "victim" not in str(message["From"])


def test_the_password_reset_signs_with_the_saved_company_and_greets_by_first_name(
    app, client, smtp, logged_in_admin, owner
):
    """Issue 24 item 10: it signed "Farewell for Farewell" (COMPANY_NAME) and greeted with the full name."""
    assert save(client, company_name="Globex").status_code == 302
    client.post("/logout")
    assert submit_form(client, "/reset-password/", {"email": owner["email"]}).status_code == 200
    deliver(app)
    message = smtp.one(owner["email"], "Reset")
    text = text_part(message)
    assert text.startswith("Hi Olivia,") and text.rstrip().endswith("Farewell for Globex")
    html = message.get_body(("html",)).get_content()
    assert "Hi Olivia," in html and "Olivia Owner" not in html and "Sent by Farewell for Globex." in html
