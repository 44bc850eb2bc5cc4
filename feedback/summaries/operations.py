"""The combined summary: the customer's answers beside the owner's review, composed and sent exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from feedback.cancellations.models import Cancellation
from feedback.cancellations.operations import current_state, lock_cancellation
from feedback.extensions import db
from feedback.mail.outbox import enqueue
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
        "review_answers": answered_questions(review.version, review.answers) if review else None,
        "review": review,
        "company": current_settings().company_name,
    }


def never_asked(cancellation: Cancellation) -> bool:
    """The customer had opted out of our email before the invitation went, so there is no answer to wait for."""
    from feedback.mail.suppression import suppression_for

    invitation = cancellation.invitation
    if invitation is None or invitation.sent_at is not None or invitation.answered_at is not None:
        return False
    return suppression_for(cancellation.customer_email) is not None


def is_ready(cancellation: Cancellation) -> bool:
    """Both sides are in, or the review is in and the customer's link lapsed unanswered or was never sent."""
    invitation = cancellation.invitation
    if cancellation.review is None or cancellation.summary is not None or cancellation.needs_contact:
        return False
    if invitation is None or invitation.answered_at is not None or invitation.expired_at is not None:
        return True
    return never_asked(cancellation)


def compose_summary_if_ready(cancellation: Cancellation) -> Summary | None:
    """Call with the cancellation locked; the unique key on summaries is what guarantees 'once'."""
    if not is_ready(cancellation):
        return None
    invitation = cancellation.invitation
    answered = invitation is not None and invitation.answered_at is not None
    try:
        with db.session.begin_nested():
            summary = Summary(cancellation=cancellation, customer_answered=answered)
            db.session.add(summary)
            db.session.flush()
    except IntegrityError:
        return None
    context = summary_context(cancellation)
    enqueue(
        "summary",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"Summary: why {cancellation.display_name} left",
        template="summary",
        about=cancellation,
        summary_url=external_url("summaries.summary", cancellation_id=cancellation.id),
        **context,
    )
    detail = "Customer's answers and the review combined." if answered else "Review only: the customer did not answer."
    cancellation.record("summarized", detail)
    return summary


def record_step(cancellation_id: int, kind: str, detail: str, at: datetime | None = None) -> Cancellation:
    """After one side of the postmortem is written: lock, note it on the timeline, send the summary if now due."""
    cancellation = lock_cancellation(cancellation_id)
    cancellation.record(kind, detail, at=at)
    compose_summary_if_ready(cancellation)
    cancellation.state = current_state(cancellation)
    return cancellation
