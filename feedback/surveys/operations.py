"""The exit survey's link and its single use: made here, checked here, spent here."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template
from flask_babel import gettext
from sqlalchemy import Connection, Select, bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.i18n import DEFAULT_LOCALE, customer_locale, supported_locale
from feedback.inbound.models import CustomerReply
from feedback.mail.headers import shortened
from feedback.mail.models import OutboxMessage
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import announce
from feedback.postmortem.workflow import record_step
from feedback.questions.models import Question, QuestionnaireVersion
from feedback.questions.outbound import facts_and_words
from feedback.questions.translations import LocalizedQuestion, localize
from feedback.settings.models import SiteSettings
from feedback.settings.operations import Settings, current_settings, settings_columns, use_settings_row
from feedback.signing import check, peek, sign
from feedback.surveys.consent import give_consent
from feedback.surveys.models import Invitation, LinkRenewal, SurveyResponse
from feedback.urls import external_url

SURVEY_SALT = "exit-survey-link"
#: A customer may ask for a fresh link at most once in this time and this many times a day.
RENEWAL_GAP = timedelta(minutes=10)
RENEWALS_PER_DAY = 3


class AlreadyAnswered(Exception):
    """The link was spent by an earlier submission (another tab, a double click, a replay)."""


class LinkExpired(Exception):
    pass


def link_lifetime() -> timedelta:
    settings = current_settings()
    return timedelta(days=settings.survey_link_days, minutes=settings.survey_delay_minutes)


def create_invitation(
    cancellation: Cancellation, version: QuestionnaireVersion, lifetime: timedelta | None = None
) -> Invitation:
    """`lifetime` is the settings' (`link_lifetime`), unless a caller making many at once read it already."""
    now = utcnow()
    invitation = Invitation(
        cancellation=cancellation,
        version=version,
        nonce=secrets.token_urlsafe(9),
        created_at=now,
        expires_at=now + (lifetime or link_lifetime()),
    )
    db.session.add(invitation)
    return invitation


def survey_url(invitation: Invitation) -> str:
    db.session.flush()  # the link names the invitation's id
    return external_url("surveys.survey", token=sign([invitation.id, invitation.nonce], SURVEY_SALT))


def answer_links(invitation: Invitation) -> tuple[LocalizedQuestion | None, list[tuple[str, str]]]:
    """The first question, when it is a single choice, with a survey link per choice that pre-selects it.

    The customer reads each choice in their language; the link carries the stored value, the same in every language.
    """
    questions = invitation.version.questions
    first = localize(questions[0]) if questions else None
    if first is None or first.type != "single_choice":
        return None, []
    base = survey_url(invitation)
    return first, [
        (label, f"{base}?{urlencode({first.key: value})}")
        for value, label in zip(first.choices, first.labels, strict=True)
    ]


def initial_answers(
    invitation: Invitation, args: Mapping[str, str], questions: Sequence[Question | LocalizedQuestion] | None = None
) -> dict[str, Any]:
    """What the survey page starts with, from its query string: `?main_reason=<choice>` pre-selects that choice.

    Only offered choices of single-choice questions count; anything else in the query string is ignored.
    The answers are only shown, never stored: the customer still reviews them and submits.
    """
    initial: dict[str, Any] = {}
    for question in invitation.version.questions if questions is None else questions:
        value = args.get(question.key)
        if question.type == "single_choice" and value in question.choices:
            initial[question.key] = value
    return initial


def first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.split() else full_name


def reply_address(cancellation: Cancellation, settings: Settings | None = None) -> str:
    """Where a customer's reply goes: the team's address from the settings page, else the account owner."""
    return (settings or current_settings()).reply_to or cancellation.owner.email


def survey_locale(invitation: Invitation) -> str | None:
    """The customer's language, or the default when the version they are asked has theirs switched off."""
    locale = invitation.cancellation.locale
    return DEFAULT_LOCALE if supported_locale(locale) in invitation.version.languages_off else locale


def queue_invitation(invitation: Invitation, renewed: bool = False) -> None:
    """Queues the invitation in the customer's language; `renewed` when they asked for a fresh link (sent now)."""
    cancellation = invitation.cancellation
    settings = current_settings()
    company = settings.company_name
    name = first_name(cancellation.customer_name)
    delay = timedelta(minutes=0 if renewed else settings.survey_delay_minutes)
    with customer_locale(survey_locale(invitation)):
        if renewed:
            subject = gettext("Your new link to the %(company)s survey", company=shortened(company))
        else:
            subject = gettext(
                "Thank you for your time with %(company)s, %(name)s", company=shortened(company), name=shortened(name)
            )
        first_question, choice_links = answer_links(invitation)
        email_about(
            cancellation,
            "survey_invitation",
            to=cancellation.customer_email,
            to_name=cancellation.customer_name,
            subject=subject,
            template="survey_invitation",
            reply_to=reply_address(cancellation, settings),
            reply_to_owner=not settings.reply_to,
            due_at=utcnow() + delay if renewed else invitation.created_at + delay,
            to_customer=True,
            survey_url=survey_url(invitation),
            first_question=first_question,
            choice_links=choice_links,
            only_first_required=[q.position for q in invitation.version.questions if q.required] == [1],
            first_name=name,
            owner=cancellation.owner,
            company=company,
            link_days=settings.survey_link_days,
            renewed=renewed,
        )


def queue_due_reminders(now: datetime | None = None) -> int:
    """One gentle reminder, `SURVEY_REMINDER_DAYS` after the invitation went, if the survey is still unanswered.

    Never after an answer, an expiry or an opt-out, and never twice: `reminded_at` is set by a conditional update,
    so two workers passing at once queue one reminder between them.
    """
    days = current_app.config["SURVEY_REMINDER_DAYS"]
    if days == 0:
        return 0
    now = now or utcnow()
    due = select(Invitation.id).where(
        Invitation.reminded_at.is_(None),
        Invitation.answered_at.is_(None),
        Invitation.expired_at.is_(None),
        Invitation.sent_at <= now - timedelta(days=days),
        Invitation.expires_at > now,
        ~exists().where(CustomerReply.cancellation_id == Invitation.cancellation_id),  # they wrote back instead
        ~exists().where(Cancellation.id == Invitation.cancellation_id, Cancellation.stayed_at.is_not(None)),
    )
    queued = 0
    for invitation_id in db.session.scalars(due).all():
        marked = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.reminded_at.is_(None), Invitation.answered_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if marked.rowcount != 1:
            db.session.rollback()
            continue
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation is not None
        if queue_reminder(invitation, now):
            queued += 1
        db.session.commit()
    return queued


def queue_reminder(invitation: Invitation, now: datetime) -> bool:
    """Returns False when the customer opted out meanwhile: the reminder is then stored as skipped, never sent."""
    cancellation = invitation.cancellation
    settings = current_settings()
    company = settings.company_name
    with customer_locale(survey_locale(invitation)):
        message = email_about(
            cancellation,
            "survey_reminder",
            to=cancellation.customer_email,
            to_name=cancellation.customer_name,
            # The words customers read live in templates, so that they are translated with the rest.
            subject=render_template("emails/survey_reminder_subject.txt", company=shortened(company)).strip(),
            template="survey_reminder",
            reply_to=reply_address(cancellation, settings),
            reply_to_owner=not settings.reply_to,
            due_at=now,
            to_customer=True,
            survey_url=survey_url(invitation),
            first_name=first_name(cancellation.customer_name),
            owner=cancellation.owner,
            company=company,
            expires_at=invitation.expires_at,
        )
    if message.status == "skipped":
        return False
    days = current_app.config["SURVEY_REMINDER_DAYS"]
    cancellation.record("reminder_queued", f"A gentle reminder was queued: no answer {days} days after the invitation.")
    return True


def reminder_obsolete(message: OutboxMessage, connection: Connection) -> str:
    """Why a queued reminder must not go after all (the customer answered, or the link lapsed), or ''.

    Read on the worker's connection, as it stands just before the send.
    """
    if message.cancellation_id is None:
        return ""
    invitation = connection.execute(
        select(Invitation.answered_at, Invitation.expired_at).where(
            Invitation.cancellation_id == message.cancellation_id
        )
    ).first()
    if invitation is None:
        return ""
    if invitation.answered_at is not None:
        return "Not sent: the customer answered the survey before the reminder went."
    if invitation.expired_at is not None:
        return "Not sent: the survey link expired before the reminder went."
    replied = connection.execute(
        select(CustomerReply.id).where(CustomerReply.cancellation_id == message.cancellation_id).limit(1)
    ).first()
    if replied is not None:
        return "Not sent: the customer wrote back by email before the reminder went."
    return ""


@dataclass(frozen=True)
class LinkStatus:
    """`state` is one of ok, answered, expired, invalid; `invitation` is None only when invalid."""

    state: str
    invitation: Invitation | None = None


def check_link(token: str) -> LinkStatus:
    data = peek(token, SURVEY_SALT)
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int) and isinstance(data[1], str)):
        return LinkStatus("invalid")
    invitation = _load_for_page(data[0])
    if invitation is None:
        return LinkStatus("invalid")
    # The link's lifetime is a setting, read by the query above: now its age can be judged.
    token_check = check(token, SURVEY_SALT, max_age=int(link_lifetime().total_seconds()))
    if token_check.invalid:
        return LinkStatus("invalid")
    if not hmac.compare_digest(invitation.nonce, data[1]):
        if not _was_replaced(invitation, data[1]):
            return LinkStatus("invalid")
        return LinkStatus("answered" if invitation.answered_at is not None else "expired", invitation)
    if invitation.answered_at is not None:
        return LinkStatus("answered", invitation)
    if token_check.expired or invitation.expired_at is not None or utcnow() >= invitation.expires_at:
        return LinkStatus("expired", invitation)
    return LinkStatus("ok", invitation)


@functools.cache
def _page_query() -> Select[Any]:
    """Built once: composing the statement costs more than SQLAlchemy's compiled cache saves."""
    return (
        select(
            Invitation,
            Cancellation,
            User,
            QuestionnaireVersion,
            exists().where(CustomerReply.cancellation_id == Invitation.cancellation_id).label("replied"),
            *settings_columns(),
        )
        .join(Cancellation, Cancellation.id == Invitation.cancellation_id)
        .join(User, User.id == Cancellation.owner_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Invitation.version_id)
        .outerjoin(SiteSettings, SiteSettings.id == 1)
        .where(Invitation.id == bindparam("invitation_id"))
    )


def _load_for_page(invitation_id: int) -> Invitation | None:
    """The invitation with what its pages show (the cancellation, its owner, whether they replied by email, the
    version's languages switched off) and the settings row, in one query.

    The settings come along so that the page needs no query of its own for them (see `use_settings_row`); the
    questions come from `published_questions`, which reads a version once per process.
    """
    # Plain entities, not joined eager loading, which costs more to set up than the query takes; the page's
    # relationships are then set as loaded (the session holds rows only weakly, so they must hang off the invitation).
    found = db.session.execute(_page_query(), {"invitation_id": invitation_id}).first()
    if found is None:
        return None
    set_committed_value(found.Cancellation, "owner", found.User)
    set_committed_value(found.Invitation, "cancellation", found.Cancellation)
    set_committed_value(found.Invitation, "version", found.QuestionnaireVersion)  # the languages switched off
    if not found.replied:  # the page asks whether they wrote back instead; when they did, it reads the replies
        set_committed_value(found.Cancellation, "replies", [])
    use_settings_row(found)
    return found.Invitation


def _was_replaced(invitation: Invitation, nonce: str) -> bool:
    replaced = select(LinkRenewal.id).where(
        LinkRenewal.invitation_id == invitation.id, LinkRenewal.replaced_nonce == nonce
    )
    return db.session.scalar(replaced) is not None


def renew_link(invitation: Invitation, now: datetime | None = None) -> bool:
    """Sends a fresh link to the address on file, replacing the current one, unless the survey was answered or the
    customer asked too often. Returns whether it did; the page says the same thing either way.

    The caller checked that the link in hand has expired (or was itself replaced: the first fresh link may
    never have arrived, so asking again from the old one is allowed, within the limits).
    """
    now = now or utcnow()
    if invitation.answered_at is not None or invitation.cancellation.summary is not None:
        return False  # once the owner's summary has gone, a late answer would reach no one
    recent = db.session.scalars(
        select(LinkRenewal.requested_at).where(
            LinkRenewal.invitation_id == invitation.id, LinkRenewal.requested_at > now - timedelta(days=1)
        )
    ).all()
    if len(recent) >= RENEWALS_PER_DAY or any(at > now - RENEWAL_GAP for at in recent):
        return False
    old_nonce = invitation.nonce
    # Swapping the nonce only if it is still the one we read lets exactly one of two simultaneous presses through.
    renewed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.nonce == old_nonce, Invitation.answered_at.is_(None))
        .values(nonce=secrets.token_urlsafe(9), expires_at=now + link_lifetime(), expired_at=None)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount != 1:
        return False
    db.session.add(LinkRenewal(invitation_id=invitation.id, requested_at=now, replaced_nonce=old_nonce))
    db.session.flush()
    db.session.refresh(invitation)
    invitation.cancellation.record("link_renewed", "The customer asked for a fresh survey link.", at=now)
    queue_invitation(invitation, renewed=True)
    return True


def mark_fetched(invitation: Invitation) -> None:
    """The first GET of the link: a person or a mail scanner, which fetches every link it delivers."""
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.fetched_at.is_(None))
        .values(fetched_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def mark_opened(invitation: Invitation) -> None:
    """A person had the page in front of them (its beacon, or a submit): the funnel's "opened"; once only."""
    now = utcnow()
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.opened_at.is_(None))
        .values(opened_at=now, fetched_at=func.coalesce(Invitation.fetched_at, now))
        .execution_options(synchronize_session=False)
    )


def submit_survey(
    invitation: Invitation, answers: dict[str, Any], user_agent: str = "", winback_consent: str | None = None
) -> SurveyResponse:
    """Spends the link: the conditional update lets exactly one submission through, the unique key backs it up.

    `winback_consent` is the language the customer ticked the separate win-back consent in, or None if they didn't.
    """
    now = utcnow()
    spend = (
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.answered_at.is_(None), Invitation.expired_at.is_(None))
        .values(answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(spend).rowcount != 1:
        raise AlreadyAnswered  # nothing was written: the update matched no row
    response = SurveyResponse(
        invitation_id=invitation.id, version_id=invitation.version_id, answers=answers, user_agent=user_agent[:255]
    )
    db.session.add(response)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyAnswered from None
    if winback_consent is not None:  # only the submission that won records it
        give_consent(invitation.cancellation_id, invitation.cancellation.customer_email, winback_consent, now)
    record_step(invitation.cancellation_id, "answered", "The customer answered the exit survey.", at=now)
    facts, words = facts_and_words(invitation.version, answers)
    announce("survey.answered", invitation.cancellation, answers=words or None, response_id=response.id, survey=facts)
    if winback_consent is not None:
        announce("winback.consented", invitation.cancellation, locale=winback_consent)
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


def stripe_initial_answers(
    cancellation: Cancellation, questions: Sequence[Question | LocalizedQuestion] | None = None
) -> dict[str, Any]:
    """The survey's main reason, pre-selected from what the customer told Stripe, if this version offers it."""
    choice = STRIPE_MAIN_REASONS.get(cancellation.feedback)
    if choice is None:
        return {}
    if questions is None:
        invitation = cancellation.invitation
        if invitation is None:
            return {}
        questions = invitation.version.questions
    for question in questions:
        if question.key == "main_reason" and choice in (question.choices or []):
            return {"main_reason": choice}
    return {}
