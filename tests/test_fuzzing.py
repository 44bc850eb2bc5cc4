"""Hypothesis feeds every form and API body control characters, maximum lengths and odd numbers: 0 server errors.

Bounded (max_examples per target, no deadline) so that the suite stays fast; CI runs it on PostgreSQL too, where
a NUL or an overlong value that slipped through would be a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import csrf_token, log
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_webhooks import STANDARD_SECRET, standard_headers

from feedback.api.tokens import create_token
from feedback.extensions import db
from feedback.surveys.models import Invitation
from feedback.surveys.operations import survey_url

ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
    ["\x00", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "<", '"', ">", "@"]
)
ODD = st.sampled_from(
    ["", " ", "9999999999.995", "9999999999.99", "1e400", "-0", "NaN", "-1", "0.001", "2026-02-30", "9999-12-31"]
    + ["x" * 120, "x" * 121, "x" * 200, "x" * 201, "x" * 254, "x" * 256, "x" * 5000, "x" * 5001, "a\x00@b.test"]
)
TEXT = st.text(ALPHABET, max_size=40) | ODD
NUMBER = (
    st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float)
)
JSON_VALUE = (
    TEXT | NUMBER | st.none() | st.booleans() | st.lists(TEXT, max_size=2) | st.dictionaries(TEXT, TEXT, max_size=2)
)
BOUNDED = settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def form_of(*names: str) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={name: TEXT for name in names})


FORMS = {
    "/login": ("email", "password"),
    "/cancellations/new": (
        "customer_name",
        "customer_email",
        "owner_email",
        "company",
        "plan",
        "mrr",
        "customer_since",
        "reason",
        "complaint",
        "locale",
    ),
    "/admin/settings/": ("company_name", "sender_name", "reply_to", "survey_intro", "survey_delay_minutes", "logo_url"),
    "/admin/staff/": ("name", "email", "role"),
    "/admin/tokens/": ("name",),
}


@pytest.fixture
def staff_client(app: Flask, client: FlaskClient, auth: Any, admin: Any) -> FlaskClient:
    auth.login(admin["email"])
    return client


@pytest.mark.parametrize("path", list(FORMS))
def test_staff_forms(app: Flask, staff_client: FlaskClient, path: str) -> None:
    token = csrf_token(staff_client.get("/cancellations/new").text)

    @BOUNDED
    @given(data=form_of(*FORMS[path]))
    def run(data: dict[str, str]) -> None:
        response = staff_client.post(path, data={**data, "csrf_token": token})
        assert response.status_code < 500, (data, response.status_code)

    run()


def test_survey_and_review_answers(app: Flask, staff_client: FlaskClient, admin: Any) -> None:
    names = ("main_reason", "final_straw", "could_have_done", "valued", "return_likelihood", "better_fit_referral")
    review = ("this_week", "relationship_history", "customer_told_us", "action_items", "icp_fit", "avoidable")
    token = csrf_token(staff_client.get("/cancellations/new").text)

    @BOUNDED
    @given(answers=form_of(*names), notes=form_of(*review))
    def run(answers: dict[str, str], notes: dict[str, str]) -> None:
        cancellation_id = log(app, admin["email"])
        with app.app_context():
            invitation = db.session.scalars(select(Invitation).where(Invitation.cancellation_id == cancellation_id))
            link = survey_url(invitation.one()).removeprefix("http://localhost")
        assert staff_client.post(link, data=answers).status_code < 500
        assert staff_client.get(link).status_code < 500
        path = f"/cancellations/{cancellation_id}"
        assert staff_client.post(f"{path}/review", data={**notes, "csrf_token": token}).status_code < 500
        for page in (path, f"{path}/review", f"{path}/summary"):
            assert staff_client.get(page).status_code < 500, page

    run()


@pytest.fixture
def api_token(app: Flask, owner: Any) -> str:
    with app.app_context():
        token = create_token("fuzz")[1]
        db.session.commit()
        return token


CUSTOMER_FIELDS = ("external_id", "name", "email", "company", "plan", "mrr", "customer_since", "owner_email", "locale")
CUSTOMER_BODY = st.fixed_dictionaries({}, optional={name: JSON_VALUE for name in CUSTOMER_FIELDS})
CANCELLATION_BODY = st.fixed_dictionaries(
    {"owner_email": st.just("olivia@acme.test") | TEXT},
    optional={
        "customer": CUSTOMER_BODY | JSON_VALUE,
        "customer_external_id": JSON_VALUE,
        **{name: JSON_VALUE for name in ("reason", "complaint", "cancelled_at", "feedback", "comment")},
    },
)


@pytest.mark.parametrize(
    ("path", "bodies"), [("/api/v1/customers", CUSTOMER_BODY), ("/api/v1/cancellations", CANCELLATION_BODY)]
)
def test_api_bodies(app: Flask, client: FlaskClient, api_token: str, path: str, bodies: Any) -> None:
    @BOUNDED
    @given(
        body=bodies,
        key=st.none() | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\xe9"), max_size=8),
    )
    def run(body: dict[str, Any], key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_token}", **({"Idempotency-Key": key} if key is not None else {})}
        response = client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)
        assert response.status_code < 500, (body, response.status_code)

    run()


@pytest.fixture
def app_config(database_url: str, smtp: Any) -> dict[str, Any]:
    from conftest import make_config

    return make_config(database_url, smtp, WEBHOOK_SECRET=STANDARD_SECRET)


def test_standard_webhook_bodies(app: Flask, client: FlaskClient, owner: Any) -> None:
    @BOUNDED
    @given(body=CANCELLATION_BODY, webhook_id=st.text(ALPHABET, min_size=1, max_size=300))
    def run(body: dict[str, Any], webhook_id: str) -> None:
        raw = json.dumps(body).encode()
        # A header carries no more than latin-1, and no line break: HTTP itself (and the test client) refuses one.
        ascii_id = webhook_id.encode("ascii", "replace").decode().replace("\r", "?").replace("\n", "?")
        response = client.post("/webhooks/cancellations", data=raw, headers=standard_headers(raw, ascii_id))
        assert response.status_code < 500, (body, response.status_code)

    run()
