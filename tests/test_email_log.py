"""The admins' email log: every message, filters, a preview as sent, resend for failures, the suppression list."""

from __future__ import annotations

import re
from html import unescape

from conftest import csrf_token, deliver, log
from sqlalchemy import select

from feedback.extensions import db
from feedback.mail.models import OutboxMessage


def message_ids(app, **where) -> list[int]:
    with app.app_context():
        query = select(OutboxMessage.id).filter_by(**where).order_by(OutboxMessage.id)
        return list(db.session.scalars(query))


def test_only_admins_see_the_log(app, client, auth, owner, admin):
    auth.login(owner["email"])
    assert 'href="/admin/' not in client.get("/cancellations/").text
    assert client.get("/admin/email/").status_code == 403
    auth.logout()
    auth.login(admin["email"])
    assert 'href="/admin/questions/"' in client.get("/cancellations/").text  # the Admin area, which holds the log
    assert 'href="/admin/email/"' in client.get("/admin/questions/").text


def test_log_lists_every_message_and_filters_by_state(app, client, auth, smtp, owner, admin):
    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    deliver(app)
    auth.login(admin["email"])
    page = client.get("/admin/email/").text
    assert "gone@client.test" in page and owner["email"] in page
    assert "survey invitation" in page and "review request" in page
    assert "550" in page  # the last error, where a person can see it
    failed = client.get("/admin/email/?state=failed").text
    assert "gone@client.test" in failed and owner["email"] not in failed
    assert "Failed (1)" in failed and "Sent (1)" in failed
    assert "No email is skipped" in client.get("/admin/email/?state=skipped").text


def test_log_is_paginated(app, client, auth, owner, admin):
    for n in range(26):
        log(app, owner["email"], customer_email=f"c{n}@client.test")
    auth.login(admin["email"])
    first = client.get("/admin/email/").text
    assert "Page 1 of 2" in first
    second = client.get("/admin/email/?page=2").text
    assert second.count('class="row-link"') == 2


def test_preview_shows_the_email_as_sent(app, client, auth, smtp, owner, admin):
    log(app, owner["email"])
    deliver(app)
    invitation = smtp.one("casey@client.test")
    auth.login(admin["email"])
    (message_id,) = message_ids(app, kind="survey_invitation")
    page = client.get(f"/admin/email/{message_id}").text
    assert f"<code>{invitation['Message-ID'].strip()}</code>" in unescape(page).replace("&lt;", "<")
    assert "List-Unsubscribe-Post" in page and "Acme Analytics &lt;hello@acme.test&gt;" in page
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame  # no scripts, no same origin
    assert "srcdoc=" in frame and "Thank you for your time with Acme Analytics" in unescape(frame)
    assert "Hi Casey," in page  # the text part
    assert "Resend" not in page  # only failed messages can be resent


def test_resend_puts_a_failed_message_back_whole(app, client, auth, smtp, owner, admin):
    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    deliver(app)
    (failed_id,) = message_ids(app, status="failed")
    smtp.rejected.clear()  # the mailbox exists again
    auth.login(admin["email"])
    page = client.get(f"/admin/email/{failed_id}")
    assert "Resend" in page.text
    response = client.post(f"/admin/email/{failed_id}/resend", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert "Queued again for gone@client.test" in client.get(response.location).text
    with app.app_context():
        row = db.session.get(OutboxMessage, failed_id)
        assert (row.status, row.attempts, row.failed_at) == ("queued", 0, None)
        message_id = row.message_id
    deliver(app)
    assert smtp.one("gone@client.test")["Message-ID"].strip() == message_id  # recognisably the same message


def test_resend_is_refused_for_an_address_that_opted_out(app, client, auth, smtp, owner, admin):
    from feedback.mail.suppression import suppress

    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    deliver(app)
    with app.app_context():
        suppress("gone@client.test", source="link")
        db.session.commit()
    (failed_id,) = message_ids(app, status="failed")
    auth.login(admin["email"])
    page = client.get(f"/admin/email/{failed_id}")
    response = client.post(f"/admin/email/{failed_id}/resend", data={"csrf_token": csrf_token(page.text)})
    assert "Not resent: gone@client.test opted out" in client.get(response.location).text
    assert message_ids(app, status="failed") == [failed_id]


def test_suppression_list_is_visible_to_admins(app, client, auth, owner, admin):
    from feedback.mail.suppression import suppress

    log(app, owner["email"])
    with app.app_context():
        suppress("casey@client.test", source="one-click", reason="Asked by the mail app's unsubscribe button.")
        db.session.commit()
    auth.login(admin["email"])
    assert "Suppression list (1)" in client.get("/admin/email/").text
    page = client.get("/admin/email/suppressed").text
    assert "casey@client.test" in page and "one click" in page
    assert "Nobody has unsubscribed" not in page


def test_a_sent_message_counts_the_try_that_worked(app, client, auth, smtp, owner, admin):
    smtp.rejected.add("gone@client.test")
    log(app, owner["email"], customer_email="gone@client.test")
    deliver(app)
    auth.login(admin["email"])
    (sent,) = message_ids(app, status="sent")
    (failed,) = message_ids(app, status="failed")
    assert re.search(r"<dt>Tries</dt><dd>1</dd>", client.get(f"/admin/email/{sent}").text)  # never "Attempts 0"
    assert re.search(r"<dt>Tries</dt><dd>1</dd>", client.get(f"/admin/email/{failed}").text)  # refused for good
    rows = re.findall(r'data-label="Tries" class="num">(\d+)<', client.get("/admin/email/").text)
    assert rows == ["1", "1"]
