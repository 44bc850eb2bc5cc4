"""The exit survey's link and its single use: made here, checked here, spent here."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from feedback.cancellations.models import Cancellation
from feedback.db import utcnow
from feedback.extensions import db
from feedback.mail.outbox import enqueue
from feedback.questions.models import QuestionnaireVersion
from feedback.signing import check, sign
from feedback.summaries.operations import record_step
from feedback.surveys.models import Invitation, SurveyResponse
from feedback.urls import external_url

SURVEY_SALT = "exit-survey-link"


class AlreadyAnswered(Exception):
    """The link was spent by an earlier submission (another tab, a double click, a replay)."""


class LinkExpired(Exception):
    pass


def _lifetime() -> timedelta:
    config = current_app.config
    return timedelta(days=config["SURVEY_LINK_DAYS"], minutes=config["SURVEY_DELAY_MINUTES"])


def create_invitation(cancellation: Cancellation, version: QuestionnaireVersion) -> Invitation:
    now = utcnow()
    invitation = Invitation(
        cancellation=cancellation,
        version=version,
        nonce=secrets.token_urlsafe(9),
        created_at=now,
        expires_at=now + _lifetime(),
    )
    db.session.add(invitation)
    return invitation


def survey_url(invitation: Invitation) -> str:
    db.session.flush()  # the link names the invitation's id
    return external_url("surveys.survey", token=sign([invitation.id, invitation.nonce], SURVEY_SALT))


def first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.split() else full_name


def queue_invitation(invitation: Invitation) -> None:
    cancellation = invitation.cancellation
    company = current_app.config["COMPANY_NAME"]
    delay = timedelta(minutes=current_app.config["SURVEY_DELAY_MINUTES"])
    enqueue(
        "survey_invitation",
        to=cancellation.customer_email,
        to_name=cancellation.customer_name,
        subject=f"Thank you for your time with {company}, {first_name(cancellation.customer_name)}",
        template="survey_invitation",
        about=cancellation,
        reply_to=cancellation.owner.email,
        due_at=invitation.created_at + delay,
        survey_url=survey_url(invitation),
        first_name=first_name(cancellation.customer_name),
        owner=cancellation.owner,
        company=company,
        link_days=current_app.config["SURVEY_LINK_DAYS"],
    )


@dataclass(frozen=True)
class LinkStatus:
    """`state` is one of ok, answered, expired, invalid; `invitation` is None only when invalid."""

    state: str
    invitation: Invitation | None = None


def check_link(token: str) -> LinkStatus:
    token_check = check(token, SURVEY_SALT, max_age=int(_lifetime().total_seconds()))
    if token_check.invalid:
        return LinkStatus("invalid")
    data = token_check.data
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int) and isinstance(data[1], str)):
        return LinkStatus("invalid")
    invitation = db.session.get(Invitation, data[0])
    if invitation is None or not hmac.compare_digest(invitation.nonce, data[1]):
        return LinkStatus("invalid")
    if invitation.answered_at is not None:
        return LinkStatus("answered", invitation)
    if token_check.expired or invitation.expired_at is not None or utcnow() >= invitation.expires_at:
        return LinkStatus("expired", invitation)
    return LinkStatus("ok", invitation)


def submit_survey(invitation: Invitation, answers: dict[str, Any], user_agent: str = "") -> SurveyResponse:
    """Spends the link: the conditional update lets exactly one submission through, the unique key backs it up."""
    now = utcnow()
    spend = (
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.answered_at.is_(None), Invitation.expired_at.is_(None))
        .values(answered_at=now)
        .execution_options(synchronize_session=False)
    )
    try:
        if db.session.execute(spend).rowcount != 1:
            raise AlreadyAnswered
        response = SurveyResponse(
            invitation_id=invitation.id, version_id=invitation.version_id, answers=answers, user_agent=user_agent[:255]
        )
        db.session.add(response)
        db.session.flush()
        record_step(invitation.cancellation_id, "answered", "The customer answered the exit survey.", at=now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyAnswered from None
    except BaseException:
        db.session.rollback()
        raise
    return response


def expire_overdue_invitations(now: datetime | None = None) -> int:
    """Marks lapsed links expired; a review already in then gets its summary, saying the customer didn't answer."""
    now = now or utcnow()
    overdue = select(Invitation.id, Invitation.cancellation_id).where(
        Invitation.answered_at.is_(None), Invitation.expired_at.is_(None), Invitation.expires_at <= now
    )
    expired = 0
    for invitation_id, cancellation_id in db.session.execute(overdue).all():
        marked = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.answered_at.is_(None), Invitation.expired_at.is_(None))
            .values(expired_at=now)
            .execution_options(synchronize_session=False)
        )
        if marked.rowcount != 1:
            db.session.rollback()  # answered at the last moment
            continue
        record_step(cancellation_id, "link_expired", "The survey link expired without an answer.", at=now)
        db.session.commit()
        expired += 1
    return expired


#: Stripe's cancellation_details.feedback, as the default main_reason choices say it.
STRIPE_MAIN_REASONS = {
    "too_expensive": "It was too expensive for us",
    "missing_features": "It was missing something we needed",
    "switched_service": "We moved to another product",
    "unused": "We weren't using it enough",
    "customer_service": "Support didn't work out for us",
    "too_complex": "It was hard to set up or use",
    "low_quality": "Something kept breaking",
    "other": "Something else",
}


def stripe_initial_answers(cancellation: Cancellation) -> dict[str, Any]:
    """The survey's main reason, pre-selected from what the customer told Stripe, if this version offers it."""
    choice = STRIPE_MAIN_REASONS.get(cancellation.feedback)
    invitation = cancellation.invitation
    if choice is None or invitation is None:
        return {}
    for question in invitation.version.questions:
        if question.key == "main_reason" and choice in (question.choices or []):
            return {"main_reason": choice}
    return {}
