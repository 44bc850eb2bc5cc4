"""A referral is marked *Contacted* by the owner of its postmortem or by an admin; a colleague gets a 403."""

from __future__ import annotations

from conftest import AuthActions, csrf_token, log
from sqlalchemy import select
from test_winback import answer_survey

from feedback.extensions import db
from feedback.surveys.models import SurveyResponse
from feedback.winback.models import ReferralContact


def referral(app, smtp, owner):
    log(app, owner["email"])
    answer_survey(app, app.test_client(), smtp, consent=False, better_fit_referral="Dana at Bright Bakery")
    with app.app_context():
        return db.session.scalars(select(SurveyResponse.id)).one()


def marks(app):
    with app.app_context():
        return [row.contacted_by.name for row in db.session.scalars(select(ReferralContact))]


def mark(client, response_id, contacted=True):
    token = csrf_token(client.get("/win-back/referrals").text)
    data = {"csrf_token": token, **({"contacted": "y"} if contacted else {})}
    return client.post(f"/win-back/referrals/{response_id}", data=data)


def test_a_colleague_can_neither_set_nor_clear_the_mark(app, smtp, owner, other_owner):
    response_id = referral(app, smtp, owner)
    colleague = app.test_client()
    AuthActions(colleague).login(other_owner["email"])
    page = colleague.get("/win-back/referrals").text
    # Before the summary is sent a colleague's customer's words are not listed (tests/test_customer_words.py),
    # so neither is a button that would answer 403.
    assert "Dana at Bright Bakery" not in page and "Mark contacted" not in page
    assert mark(colleague, response_id).status_code == 403
    assert marks(app) == []

    own = app.test_client()
    AuthActions(own).login(owner["email"])
    assert mark(own, response_id).status_code == 302
    assert marks(app) == ["Olivia Owner"]
    assert mark(colleague, response_id, contacted=False).status_code == 403
    assert marks(app) == ["Olivia Owner"]
    assert "by Olivia Owner" in own.get("/win-back/referrals").text


def test_an_admin_may_mark_any_referral(app, smtp, owner, admin):
    response_id = referral(app, smtp, owner)
    client = app.test_client()
    AuthActions(client).login(admin["email"])
    assert mark(client, response_id).status_code == 302
    assert marks(app) == ["Ada Admin"]
    assert mark(client, response_id, contacted=False).status_code == 302
    assert marks(app) == []
