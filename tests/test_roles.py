"""Who may open what: every route of the app, for a logged-out visitor, an owner (own and other's) and an admin.

The table below must name every endpoint, so that a new route cannot be added without deciding who may use it.
"""

from __future__ import annotations

import pytest
from conftest import AuthActions, csrf_token, log
from sqlalchemy import select

from feedback.actions.operations import add_item
from feedback.api.tokens import create_token
from feedback.auth.models import User
from feedback.event_log.operations import add_endpoint
from feedback.events.models import Delivery
from feedback.extensions import db
from feedback.imports.runs import start_run
from feedback.inbound.operations import store_message
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation
from feedback.surveys.operations import submit_survey

#: public: no login at all; staff: any logged-in staff member; own: the cancellation's owner or an admin;
#: admin: admins only; logout: any staff member, checked last as it ends the session;
#: token: the JSON API, by bearer token only; signed: webhooks, by the sender's signature only; password: a webhook
#: by HTTP Basic credentials only (Chargebee);
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
    "surveys.seen": "public",  # the survey page's beacon: only from this site's own page (tests/test_insights.py)
    "unsubscribe.unsubscribe": "public",
    "unsubscribe.withdraw_consent": "public",
    "staff.accept": "public",
    "auth.logout": "logout",
    "auth.logout_everywhere": "logout",
    "cancellations.index": "staff",
    "cancellations.new": "staff",
    "summaries.summary": "own",  # until it is sent: then every staff member (tests/test_summaries.py)
    "summaries.index": "staff",
    "mailbox.index": "staff",  # in development: an owner reads the mail sent to them, an admin everyone's
    "mailbox.show": "own",
    "cancellations.detail": "own",
    "cancellations.start": "own",
    "helpdesk.refresh": "own",
    "integrations.index": "admin",
    "integrations.test_connection": "admin",
    "cancellations.reinvite": "own",
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
    "privacy_api.erase_customer": "token",
    "email_log.index": "admin",
    "email_log.resend_all_failed": "admin",
    "email_log.show": "admin",
    "email_log.resend_message": "admin",
    "email_log.suppressed": "admin",
    "held_replies.attach": "own",
    "held_replies.discard": "own",
    "inbound.index": "admin",
    "inbound.show": "admin",
    "inbound.attach": "admin",
    "inbound.discard_message": "admin",
    "inbound.retry_message": "admin",
    "webhooks.inbound_mailgun": "signed",
    "tokens.index": "admin",
    "staff.reset_second_factor": "admin",
    "second_factor.code": "public",
    "sso.start": "public",
    "sso.callback": "public",
    "second_factor.enrol": "public",
    "tokens.revoke": "admin",
    "customers.contact": "own",
    "imports.upload": "staff",
    "imports.run": "own",  # the uploader's import; admins see everyone's
    "imports.status": "own",
    "imports.confirm": "own",
    "imports.discard": "own",
    "imports.error_report": "own",
    "imports.export": "staff",
    "api.openapi": "public",
    "api.create_cancellation": "token",
    "api.list_cancellations": "token",
    "api.list_events": "token",
    "event_log.index": "admin",
    "event_log.endpoint": "admin",
    "event_log.remove": "admin",
    "event_log.enable": "admin",
    "event_log.replay_delivery": "admin",
    "api.get_cancellation": "token",
    "api.put_conversation": "token",
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
    "webhooks.paddle": "signed",
    # HTTP Basic, as Chargebee's webhook settings send it: a 401 without the right user name and password.
    "webhooks.chargebee": "password",
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
            if ACCESS[rule.endpoint] in ("public", "token", "signed", "password"):
                continue
            values = {arg: ids[arg] for arg in rule.arguments}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url_for(rule.endpoint, **values)))
    return sorted(found, key=lambda r: (ACCESS[r[0]] == "logout", r))


def test_every_route_states_who_may_use_it(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(ACCESS)


def send(client, method, path, token):
    """One request, its body read to the end as a browser would: a streamed export left half-read would keep its
    request (and its database transaction) open into the next one."""
    if method == "GET":
        return client.get(path, buffered=True)
    return client.post(path, data={"csrf_token": token}, buffered=True)


def token_for(client, path="/login"):
    return csrf_token(client.get(path).text)


def test_role_checks_on_every_staff_route(app, owner, other_owner, admin):
    app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] = True
    with app.app_context():  # endpoint 1 is removed along the way; the replayed delivery is endpoint 2's
        add_endpoint("http://127.0.0.1:9/roles")
        kept_endpoint = add_endpoint("http://127.0.0.1:9/roles-kept").id
        db.session.commit()
    own_id = log(app, owner["email"], customer_email="mine@client.test")
    other_id = log(app, other_owner["email"], customer_email="theirs@client.test")
    with app.app_context():
        token_id = create_token("roles")[0].id
        delivery_id = db.session.scalars(select(Delivery.id).where(Delivery.endpoint_id == kept_endpoint)).first()
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
            "token_id": token_id, "response_id": response_id, "inbound_id": inbound_id, "endpoint_id": 1,
            "delivery_id": delivery_id}  # fmt: skip
    with app.app_context():  # each owner's review request, kept in the development mailbox
        own_mail, other_mail = (
            db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.recipient == person["email"])).first()
            for person in (owner, other_owner)
        )
    own = requests_for(
        app, {**base, "cancellation_id": own_id, "item_id": own_item, "run_id": own_run, "message_id": own_mail}
    )
    others = requests_for(
        app,
        {**base, "cancellation_id": other_id, "item_id": other_item, "run_id": other_run, "message_id": other_mail},
    )
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
        STRIPE_WEBHOOK_SECRET="whsec_test",
        WEBHOOK_SECRET="whsec_dGVzdHNlY3JldA==",
        MAILGUN_SIGNING_KEY="key-test",
        PADDLE_WEBHOOK_SECRET="pdl_ntfset_test",
        CHARGEBEE_WEBHOOK_USERNAME="chargebee",
        CHARGEBEE_WEBHOOK_PASSWORD="test",
    )
    client = app.test_client()
    AuthActions(client).login(admin["email"])
    with app.test_request_context():
        from flask import url_for

        routes = [
            (rule.endpoint, method, url_for(rule.endpoint, **{arg: 1 for arg in rule.arguments}))
            for rule in app.url_map.iter_rules()
            if ACCESS[rule.endpoint] in ("token", "signed", "password")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]
    machines = ("token", "signed", "password")
    assert {endpoint for endpoint, _, _ in routes} == {e for e, rule in ACCESS.items() if rule in machines}
    for endpoint, method, path in routes:
        response = client.open(path, method=method, json={})
        expected = 401 if ACCESS[endpoint] in ("token", "password") else 400
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


def test_in_development_an_owner_reads_their_own_mail_and_no_one_elses(app, owner, other_owner):
    """The walk-through sends an owner to their review request in Sent mail: it is theirs to read, not a colleague's."""
    log(app, owner["email"], customer_email="mine@client.test")
    log(app, other_owner["email"], customer_email="theirs@client.test")
    with app.app_context():
        mail = {m.recipient: m.id for m in db.session.scalars(select(OutboxMessage))}
    client = app.test_client()
    AuthActions(client).login(owner["email"])
    listing = client.get("/dev/mail/")
    assert listing.status_code == 200 and 'aria-label="Main"' in listing.text and ">Sent mail</a>" in listing.text
    assert f"/dev/mail/{mail[owner['email']]}" in listing.text  # their review request
    assert "mine@client.test" not in listing.text and other_owner["email"] not in listing.text
    assert client.get(f"/dev/mail/{mail[owner['email']]}").status_code == 200
    assert client.get(f"/dev/mail/{mail[other_owner['email']]}").status_code == 403
    assert client.get(f"/dev/mail/{mail['mine@client.test']}").status_code == 403
