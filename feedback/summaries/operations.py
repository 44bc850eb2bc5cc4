"""The combined summary: the customer's answers beside the owner's review, composed and sent exactly once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from feedback.extensions import db
from feedback.mail.headers import shortened
from feedback.postmortem.emails import email_about
from feedback.postmortem.history import earlier_cancellations
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import announce
from feedback.postmortem.workflow import bounce, never_asked
from feedback.questions.forms import display_answer
from feedback.questions.models import QuestionnaireVersion
from feedback.settings.operations import current_settings
from feedback.summaries.models import Summary
from feedback.urls import external_url

#: (cancellation) -> more context for the summary page and email; registered by higher features at start-up.
SummaryExtra = Callable[[Cancellation], dict[str, Any]]

_HOOKS = "farewell.summaries"
#: Answers the summary's first row pairs: the customer's reason beside the owner's verdicts.
HEADLINE_KEYS = {"customer": ("main_reason", "may_follow_up"), "review": ("avoidable", "icp_fit")}
#: Answers shown elsewhere on the summary (in its first row, or as action items) rather than in the lists.
SHOWN_APART = {"main_reason", "may_follow_up", "avoidable", "icp_fit", "action_items"}


def summary_context_from(app: Flask, extra: SummaryExtra) -> None:
    """The action items feature adds the postmortem's items this way: the summary lists them, never imports them."""
    app.extensions.setdefault(_HOOKS, []).append(extra)


@dataclass(frozen=True)
class AnsweredQuestion:
    prompt: str
    answer: str
    key: str


def answered_questions(version: QuestionnaireVersion, answers: dict[str, Any]) -> list[AnsweredQuestion]:
    """Renders answers against the exact questions they answered, whatever the questions are today."""
    return [AnsweredQuestion(q.prompt, display_answer(q, answers), q.key) for q in version.questions]


def split_unanswered(rows: list[AnsweredQuestion] | None) -> tuple[list[AnsweredQuestion], list[str]]:
    """The answered rows, and the prompts left unanswered (listed once, together, instead of row after row).

    What the first row or the action items show is left out of both.
    """
    rows = [row for row in rows or [] if row.key not in SHOWN_APART]
    return [row for row in rows if row.answer], [row.prompt for row in rows if not row.answer]


def headline(
    customer: list[AnsweredQuestion] | None, review: list[AnsweredQuestion] | None
) -> dict[str, AnsweredQuestion]:
    """The first row of the summary: what the customer gave as the main reason, and what the owner concluded.

    Each with the question as it was asked, so the row says what was asked even after the questions change.
    """
    found = {row.key: row for row in (customer or []) if row.key in HEADLINE_KEYS["customer"] and row.answer}
    found |= {row.key: row for row in (review or []) if row.key in HEADLINE_KEYS["review"] and row.answer}
    return found


def summary_context(cancellation: Cancellation) -> dict[str, Any]:
    invitation = cancellation.invitation
    response = invitation.response if invitation else None
    review = cancellation.review
    customer_rows = answered_questions(response.version, response.answers) if response else None
    review_rows = answered_questions(review.version, review.answers) if review else None
    context = {
        "cancellation": cancellation,
        "customer_answers": customer_rows,
        "customer_answered_at": response.submitted_at if response else None,
        "link_expired": invitation is not None and invitation.expired_at is not None,
        "opted_out": never_asked(cancellation),
        #: What the customer wrote back by email; in place of the survey's answers when there are none.
        "customer_replies": list(cancellation.replies),
        "bounce": bounce(cancellation),
        "review_answers": review_rows,
        "review": review,
        "company": current_settings().company_name,
        "headline": headline(customer_rows, review_rows),
        "customer_rows": split_unanswered(customer_rows)[0],
        "customer_unanswered": split_unanswered(customer_rows)[1],
        "review_rows": split_unanswered(review_rows)[0],
        "review_unanswered": split_unanswered(review_rows)[1],
        "earlier_cancellations": earlier_cancellations(cancellation),
    }
    for extra in current_app.extensions.get(_HOOKS, []):
        context.update(extra(cancellation))
    return context


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
        subject=f"Summary: why {shortened(cancellation.display_name)} left",
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
    top = context["headline"]
    announce(
        "summary.sent",
        cancellation,
        links={"summary": external_url("summaries.summary", cancellation_id=cancellation.id)},
        summary_id=summary.id,
        customer_answered=answered,
        main_reason=top["main_reason"].answer if "main_reason" in top else None,
        avoidable=top["avoidable"].answer if "avoidable" in top else None,
    )
    return summary
