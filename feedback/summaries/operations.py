"""The combined summary: the customer's answers beside the owner's review, composed and sent exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from feedback.extensions import db
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.workflow import bounce, never_asked
from feedback.questions.forms import display_answer
from feedback.questions.models import QuestionnaireVersion
from feedback.settings.operations import current_settings
from feedback.summaries.models import Summary
from feedback.urls import external_url


@dataclass(frozen=True)
class AnsweredQuestion:
    prompt: str
    answer: str
    key: str


def answered_questions(version: QuestionnaireVersion, answers: dict[str, Any]) -> list[AnsweredQuestion]:
    """Renders answers against the exact questions they answered, whatever the questions are today."""
    return [AnsweredQuestion(q.prompt, display_answer(q, answers), q.key) for q in version.questions]


def summary_context(cancellation: Cancellation) -> dict[str, Any]:
    invitation = cancellation.invitation
    response = invitation.response if invitation else None
    review = cancellation.review
    return {
        "cancellation": cancellation,
        "customer_answers": answered_questions(response.version, response.answers) if response else None,
        "customer_answered_at": response.submitted_at if response else None,
        "link_expired": invitation is not None and invitation.expired_at is not None,
        "opted_out": never_asked(cancellation),
        #: What the customer wrote back by email; in place of the survey's answers when there are none.
        "customer_replies": list(cancellation.replies),
        "bounce": bounce(cancellation),
        "review_answers": answered_questions(review.version, review.answers) if review else None,
        "review": review,
        "company": current_settings().company_name,
    }


def compose_summary(cancellation: Cancellation) -> Summary | None:
    """Called by the postmortem, with the cancellation locked, once the summary is due (see `when_summary_due`).

    The unique key on summaries is what guarantees 'once'.
    """
    invitation = cancellation.invitation
    answered = (invitation is not None and invitation.answered_at is not None) or bool(cancellation.replies)
    try:
        with db.session.begin_nested():
            summary = Summary(cancellation=cancellation, customer_answered=answered)
            db.session.add(summary)
            db.session.flush()
    except IntegrityError:
        return None
    context = summary_context(cancellation)
    email_about(
        cancellation,
        "summary",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"Summary: why {cancellation.display_name} left",
        template="summary",
        summary_url=external_url("summaries.summary", cancellation_id=cancellation.id),
        **context,
    )
    if invitation is not None and invitation.answered_at is not None:
        detail = "Customer's answers and the review combined."
    elif answered:
        detail = "The customer's reply by email and the review combined."
    else:
        detail = "Review only: the customer did not answer."
    cancellation.record("summarized", detail)
    return summary
