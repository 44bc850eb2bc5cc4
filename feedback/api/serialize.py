"""Cancellations as JSON: the same document for the API's answers and its replays."""

from __future__ import annotations

from typing import Any

from feedback.customers.operations import customer_json, iso, mrr_and_since
from feedback.postmortem.models import Cancellation
from feedback.summaries.operations import answered_questions
from feedback.urls import external_url


def _answers(version: Any, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Each answer with the exact question it answered, as the summary shows it."""
    return [
        {"key": row.key, "question": row.prompt, "answer": row.answer, "value": answers.get(row.key)}
        for row in answered_questions(version, answers)
    ]


def cancellation_json(cancellation: Cancellation, full: bool = False) -> dict[str, Any]:
    invitation = cancellation.invitation
    document: dict[str, Any] = {
        "id": cancellation.id,
        "state": cancellation.state,
        "source": cancellation.source,
        "customer": customer_json(cancellation.customer) if cancellation.customer else None,
        "customer_name": cancellation.customer_name,
        "customer_email": cancellation.customer_email,
        "company": cancellation.company,
        "plan": cancellation.plan,
        **mrr_and_since(cancellation),
        "owner_email": cancellation.owner.email,
        "reason": cancellation.reason,
        "complaint": cancellation.complaint,
        "feedback": cancellation.feedback or None,
        "comment": cancellation.comment,
        "cancelled_at": iso(cancellation.cancelled_at),
        "created_at": iso(cancellation.created_at),
        "url": external_url("cancellations.detail", cancellation_id=cancellation.id),
        "invitation": None,
        "ends_at": iso(cancellation.ends_at),
        "ended_at": iso(cancellation.ended_at),
        "stayed_at": iso(cancellation.stayed_at),
        "involuntary": cancellation.involuntary,
    }
    if invitation is not None:
        document["invitation"] = {
            "created_at": iso(invitation.created_at),
            "sent_at": iso(invitation.sent_at),
            "expires_at": iso(invitation.expires_at),
            "answered_at": iso(invitation.answered_at),
            "expired_at": iso(invitation.expired_at),
        }
    if full:
        response = invitation.response if invitation else None
        review = cancellation.review
        document["answers"] = _answers(response.version, response.answers) if response else None
        document["review"] = (
            {
                "author": review.author.name,
                "submitted_at": iso(review.submitted_at),
                "answers": _answers(review.version, review.answers),
            }
            if review
            else None
        )
    return document
