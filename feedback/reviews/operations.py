"""The owner's side of the postmortem."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from feedback.auth.models import User
from feedback.cancellations.models import Cancellation
from feedback.extensions import db
from feedback.mail.outbox import enqueue
from feedback.questions.models import QuestionnaireVersion
from feedback.questions.operations import live_version
from feedback.reviews.models import Review
from feedback.settings.operations import current_settings
from feedback.summaries.operations import record_step
from feedback.urls import external_url


class AlreadyReviewed(Exception):
    pass


def may_see(user: User, cancellation: Cancellation) -> bool:
    """Owners see their own cancellations; admins see all. (Summaries are open to every staff member.)"""
    return may_review(user, cancellation)


def may_review(user: User, cancellation: Cancellation) -> bool:
    return user.is_authenticated and user.active and (user.is_admin or user.id == cancellation.owner_id)


def queue_review_request(cancellation: Cancellation) -> None:
    db.session.flush()  # the link names the cancellation's id
    enqueue(
        "review_request",
        to=cancellation.owner.email,
        to_name=cancellation.owner.name,
        subject=f"{cancellation.display_name} cancelled: your review, please",
        template="review_request",
        about=cancellation,
        review_url=external_url("reviews.review", cancellation_id=cancellation.id),
        company=current_settings().company_name,
    )


def review_version(cancellation: Cancellation) -> QuestionnaireVersion:
    """A submitted review keeps its questions; a new one gets today's."""
    return cancellation.review.version if cancellation.review else live_version("internal-review")


def submit_review(cancellation: Cancellation, author: User, answers: dict[str, Any], version_id: int) -> Review:
    """Records the review once; if the customer has answered (or their link lapsed), the summary goes now."""
    review = Review(cancellation_id=cancellation.id, version_id=version_id, author_id=author.id, answers=answers)
    try:
        db.session.add(review)
        db.session.flush()
        record_step(cancellation.id, "reviewed", f"{author.name} submitted the internal review.")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyReviewed from None
    except BaseException:
        db.session.rollback()
        raise
    return review
