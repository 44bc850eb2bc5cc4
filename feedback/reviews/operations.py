"""The owner's side of the postmortem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from feedback import audit
from feedback.auth.models import User
from feedback.extensions import db
from feedback.mail.headers import shortened
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import announce
from feedback.postmortem.workflow import record_step
from feedback.questions.models import QuestionnaireVersion
from feedback.questions.operations import live_version
from feedback.questions.outbound import facts_and_words
from feedback.reviews.models import Review
from feedback.settings.operations import current_settings
from feedback.urls import external_url


class AlreadyReviewed(Exception):
    pass


def queue_review_request(cancellation: Cancellation) -> None:
    email_about(
        cancellation,
        "review_request",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"{shortened(cancellation.display_name)} cancelled: your review, please",
        template="review_request",
        review_url=external_url("reviews.review", cancellation_id=cancellation.id),
        company=current_settings().company_name,
    )


def review_version(cancellation: Cancellation) -> QuestionnaireVersion:
    """A submitted review keeps its questions; a new one gets today's."""
    return cancellation.review.version if cancellation.review else live_version("internal-review")


def submit_review(
    cancellation: Cancellation,
    author: User,
    answers: dict[str, Any],
    version_id: int,
    then: Callable[[Review], None] | None = None,
) -> Review:
    """Records the review once; if the customer has answered (or their link lapsed), the summary goes now.

    `then(review)` writes what the review's parts answered (its action items) before the summary is composed.

    The unique key on reviews settles a second submission (another tab, a colleague): it is refused, and the
    transaction rolled back so that nothing of it can be committed.
    """
    review = Review(cancellation_id=cancellation.id, version_id=version_id, author_id=author.id, answers=answers)
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyReviewed from None
    if then is not None:
        then(review)
    # Before the step: reaching 'reviewed' may send the summary, whose event comes after this one.
    facts, words = facts_and_words(db.session.get(QuestionnaireVersion, version_id), answers)
    announce(
        "review.submitted",
        cancellation,
        answers=words or None,
        review_id=review.id,
        review=facts,
        author={"id": author.id, "name": author.name},
    )
    record_step(cancellation.id, "reviewed", f"{author.name} submitted the internal review.")
    audit.record("review.submit", cancellation, actor=author)
    return review
