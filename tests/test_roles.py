"""Who may open what: every route of the app, for a logged-out visitor, an owner (own and other's) and an admin.

The table below must name every endpoint, so that a new route cannot be added without deciding who may use it.
"""

from __future__ import annotations

import pytest
from conftest import AuthActions, csrf_token, log

from feedback.actions.operations import add_item
from feedback.api.tokens import create_token
from feedback.auth.models import User
from feedback.extensions import db
from feedback.imports.runs import start_run
from feedback.inbound.operations import store_message
from feedback.postmortem.models import Cancellation
from feedback.surveys.operations import submit_survey

#: public: no login at all; staff: any logged-in staff member; own: the cancellation's owner or an admin;
#: admin: admins only; logout: any staff member, checked last as it ends the session;
#: token: the JSON API, by bearer token only; signed: webhooks, by the sender's signature only;
#: owner-only: the cancellation's own account owner, not even an admin (the win-back email is the owner's word).
#: A 400 or 422 counts as let in: the request was checked, and refused for its (here empty) content.
ACCESS = {
    "auth.home": "public",
    "auth.login": "public",
    "health.healthz": "public",
    "static": "public",
    "surveys.survey": "public",
    "surveys.thanks": "public",
    "surveys.new_link": "public",
    "unsubscribe.unsubscribe": "public",
    "unsubscribe.withdraw_consent": "public",
    "staff.accept": "public",
    "auth.logout": "logout",
    "auth.logout_everywhere": "logout",
    "cancellations.index": "staff",
    "cancellations.new": "staff",
    "summaries.summary": "own",  # until it is sent: then every staff member (tests/test_summaries.py)
    "summaries.index": "staff",
    "mailbox.index": "admin",
    "mailbox.show": "admin",
    "cancellations.detail": "own",
    "reviews.review": "own",
    "questions.index": "admin",
    "questions.editor": "admin",
    "questions.add": "admin",
    "questions.edit": "admin",
    "questions.reorder": "admin",
    "questions.remove": "admin",
    "questions.preview": "admin",
    "questions.publish": "admin",
    "questions.discard": "admin",
    "questions.version": "admin",
    "settings.edit": "admin",
    "staff.index": "admin",
    "staff.deactivate": "admin",
    "staff.reactivate": "admin",
    "staff.resend": "admin",
    "staff.reassign": "admin",
    "staff.role": "admin",
    "privacy.export": "admin",
    "privacy.erase": "admin",
    "audit_log.index": "admin",
    "password_reset.ask": "public",
    "password_reset.choose": "public",
    "privacy_api.export_customer": "token",
    "email_log.index": "admin",
    "email_log.resend_all_failed": "admin",
    "email_log.show": "admin",
    "email_log.resend_message": "admin",
    "email_log.suppressed": "admin",
    "inbound.index": "admin",
    "inbound.show": "admin",
    "inbound.attach": "admin",
    "inbound.discard_message": "admin",
    "inbound.retry_message": "admin",
    "webhooks.inbound_mailgun": "signed",
    "tokens.index": "admin",
    "tokens.revoke": "admin",
    "customers.contact": "own",
    "imports.upload": "staff",
    "imports.run": "own",  # the uploader's import; admins see everyone's
    "imports.status": "own",
    "imports.confirm": "own",
    "imports.error_report": "own",
    "imports.export": "staff",
    "api.openapi": "public",
    "api.create_cancellation": "token",
    "api.list_cancellations": "token",
    "api.get_cancellation": "token",
    "api.create_customer": "token",
    "api.get_customer": "token",
    "api.list_action_items": "token",
    "api.get_action_item": "token",
    "api.update_action_item": "token",
    "actions.index": "staff",
    "actions.add": "own",
    "actions.edit": "own",  # the item's owner, the postmortem's owner or an admin
    "actions.close": "own",
    "actions.reopen": "own",
    "winback.index": "staff",
    "winback.referral_list": "staff",
    "winback.mark": "staff",
    "winback.tell": "owner-only",
    "winback.skip": "owner-only",
    "api.insights": "token",
    "insights.index": "staff",
    "insights.export": "staff",  # an owner's export holds only their own cancellations (tests/test_insights.py)
    "insights.digest": "staff",
    "webhooks.stripe": "signed",
    "webhooks.cancellations": "signed",
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "MAIL_BACKEND": "local"}  # the development mailbox's routes exist only then


def requests_for(app, ids):
    """(endpoint, method, path) for every staff route; `ids` fills in the URL's parts."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if ACCESS[rule.endpoint] in ("public", "token", "signed"):
                continue
            values = {arg: ids[arg] for arg in rule.arguments}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
    return sorted(found, key=lambda r: (ACCESS[r[0]] == "logout", r))


def test_every_route_states_who_may_use_it(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ACCESS)


def send(client, method, path, token):
    return client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token})


def token_for(client, path="/login"):
    return csrf_token(client.get(path).text)


def test_role_checks_on_every_staff_route(app, owner, other_owner, admin):
    own_id = log(app, owner["email"], customer_email="mine@client.test")
    other_id = log(app, other_owner["email"], customer_email="theirs@client.test")
    with app.app_context():
        token_id = create_token("roles")[0].id
        own_item, other_item = (
            add_item(db.session.get(Cancellation, cid), title="Call sooner").id for cid in (own_id, other_id)
        )
        invitation = db.session.get(Cancellation, own_id).invitation
        response_id = submit_survey(invitation, {"main_reason": "Something else", "better_fit_referral": "Bo"}).id
        own_run, other_run = (
            start_run("customers", b"email\nx@y.test\n", "x.csv", db.session.get(User, person["id"])).id
            for person in (owner, other_owner)
        )
        db.session.commit()
        inbound_id = store_message(b"From: someone@else.test\r\nSubject: Hi\r\n\r\nHello", "pipe")[0].id
    base = {"questionnaire": "exit-survey", "position": 1, "user_id": other_owner["id"], "message_id": 1, "number": 1,
            "token_id": token_id, "response_id": response_id, "inbound_id": inbound_id}  # fmt: skip
    own = requests_for(app, {**base, "cancellation_id": own_id, "item_id": own_item, "run_id": own_run})
    others = requests_for(app, {**base, "cancellation_id": other_id, "item_id": other_item, "run_id": other_run})
    assert own, "no staff routes found"

    visitor = app.test_client()
    token = token_for(visitor)
    for endpoint, method, path in own:
        response = send(visitor, method, path, token)
        assert response.status_code == 302, (endpoint, method, path, response.status_code)
        assert response.headers["Location"].startswith("/login?next="), (endpoint, path)

    owner_client = app.test_client()
    AuthActions(owner_client).login(owner["email"])
    token = token_for(owner_client, "/cancellations/")
    for (endpoint, method, path), (_, _, others_path) in zip(own, others, strict=True):
        rule = ACCESS[endpoint]
        response = send(owner_client, method, path, token)
        if rule == "owner-only":
            assert response.status_code < 400 or response.status_code == 422, (endpoint, method, path)
            assert send(owner_client, method, others_path, token).status_code == 403, (endpoint, others_path)
        elif rule == "admin":
            assert response.status_code == 403, (endpoint, method, path)
        else:
            assert response.status_code < 400 or response.status_code in (400, 409, 422), (endpoint, method, path)
            if rule != "logout":
                assert "/login" not in response.headers.get("Location", ""), (endpoint, path)
        if rule == "own":
            assert send(owner_client, method, others_path, token).status_code == 403, (endpoint, others_path)
        if rule == "staff" and others_path != path:  # summaries are open to every staff member
            assert send(owner_client, method, others_path, token).status_code == 200, (endpoint, others_path)

    admin_client = app.test_client()
    AuthActions(admin_client).login(admin["email"])
    token = token_for(admin_client, "/cancellations/")
    everything = own + [r for r in others if ACCESS[r[0]] == "own"]
    for endpoint, method, path in sorted(everything, key=lambda r: ACCESS[r[0]] == "logout"):
        response = send(admin_client, method, path, token)
        if ACCESS[endpoint] == "owner-only":
            assert response.status_code == 403, (endpoint, method, path)
            continue
        assert response.status_code < 400 or response.status_code in (400, 409, 422), (
            endpoint,
            method,
            path,
            response.status_code,
        )
        if ACCESS[endpoint] != "logout":
            assert "/login" not in response.headers.get("Location", ""), (endpoint, path)


def test_a_staff_session_opens_neither_the_api_nor_the_webhooks(app, admin):
    """Cookies are no credential for machines: only a bearer token (API) or a signature (webhooks) is."""
    app.config.update(
        STRIPE_WEBHOOK_SECRET="whsec_test", WEBHOOK_SECRET="whsec_dGVzdHNlY3JldA==", MAILGUN_SIGNING_KEY="key-test"
    )
    client = app.test_client()
    AuthActions(client).login(admin["email"])
    with app.test_request_context():
        from flask import url_for

        routes = [
            (rule.endpoint, method, url_for(rule.endpoint, **{arg: 1 for arg in rule.arguments}))
            for rule in app.url_map.iter_rules()
            if ACCESS[rule.endpoint] in ("token", "signed")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]
    assert {endpoint for endpoint, _, _ in routes} == {e for e, rule in ACCESS.items() if rule in ("token", "signed")}
    for endpoint, method, path in routes:
        response = client.open(path, method=method, json={})
        expected = 401 if ACCESS[endpoint] == "token" else 400
        assert response.status_code == expected, (endpoint, method, path, response.status_code)
        assert response.mimetype == "application/problem+json", (endpoint, path)


def test_an_owner_exports_only_their_own_cancellations(app, client, auth, owner, other_owner, admin):
    log(app, owner["email"], customer_email="mine@client.test")
    log(app, other_owner["email"], customer_email="theirs@client.test")
    auth.login(owner["email"])
    exported = client.get("/cancellations/export.csv").text
    assert "mine@client.test" in exported and "theirs@client.test" not in exported
    auth.logout()
    auth.login(admin["email"])
    exported = client.get("/cancellations/export.csv").text
    assert "mine@client.test" in exported and "theirs@client.test" in exported
