"""The owner's internal review: who may write it, and what happens when it is in."""

from __future__ import annotations

from conftest import csrf_token, log, submit_form

REVIEW = {
    "this_week": "They left after the outage.",
    "relationship_history": "Three escalations since June.",
    "action_items": "Post-incident call within a day",
    "icp_fit": "Yes, a good fit",
    "avoidable": "Maybe",
}


def test_logged_out_visitor_is_sent_to_log_in_and_comes_back(app, client, auth, owner):
    cancellation_id = log(app, owner["email"])
    path = f"/cancellations/{cancellation_id}/review"
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    login = auth.login(owner["email"], next_url=path)
    assert login.headers["Location"] == path


def test_another_owner_is_refused(app, client, auth, owner, other_owner):
    cancellation_id = log(app, owner["email"])
    auth.login(other_owner["email"])
    response = client.get(f"/cancellations/{cancellation_id}/review")
    assert response.status_code == 403
    assert "Only the account owner" in response.text
    assert client.post(f"/cancellations/{cancellation_id}/review", data=REVIEW).status_code in (400, 403)


def test_admin_may_review_any_cancellation(app, client, auth, owner, admin):
    cancellation_id = log(app, owner["email"])
    auth.login(admin["email"])
    assert client.get(f"/cancellations/{cancellation_id}/review").status_code == 200
    response = submit_form(client, f"/cancellations/{cancellation_id}/review", REVIEW)
    assert response.status_code == 302
    detail = client.get(f"/cancellations/{cancellation_id}").text
    assert "Ada Admin submitted the internal review" in detail
    assert "Three escalations since June." in detail


def test_review_errors_keep_the_text(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    response = submit_form(
        client, f"/cancellations/{cancellation_id}/review", {"this_week": "Half a thought", "icp_fit": "Partly"}
    )
    assert response.status_code == 422
    assert "Half a thought</textarea>" in response.text
    assert 'value="Partly" checked' in response.text
    assert response.text.count("Please answer “") >= 4  # beside each of the two unanswered fields, and in the summary


def test_a_review_is_submitted_once(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"])
    path = f"/cancellations/{cancellation_id}/review"
    token = csrf_token(client.get(path).text)
    assert client.post(path, data={**REVIEW, "csrf_token": token}).status_code == 302
    again = client.post(path, data={**REVIEW, "this_week": "Changed my mind", "csrf_token": token})
    assert again.status_code == 302  # sent to the review that is already in
    assert "Changed my mind" not in client.get(f"/cancellations/{cancellation_id}").text


def test_the_review_page_has_a_plain_title_and_loads_its_script(app, client, logged_in_owner):
    cancellation_id = log(app, logged_in_owner["email"], customer_name="Hannah Brooks")
    page = client.get(f"/cancellations/{cancellation_id}/review").text
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == "Review: Hannah Brooks · Farewell"
    head = page.split("</head>", 1)[0]
    assert '<script src="/static/show-if.js" defer></script>' in head
