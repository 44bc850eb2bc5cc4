"""Win-back without burning bridges: who may hear from us, what changed for them, and the one email the owner sends.

A customer is on the list when they ticked the win-back consent or said they might come back (7 or more of 10).
Only a consenting customer, whose address is not on the suppression list, is ever offered an email, and only about
a change that addresses their reason and was done after they consented; at most one per customer per change, held
by the unique key on winback_notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from feedback import audit
from feedback.actions.models import ActionItem
from feedback.auth.models import User
from feedback.extensions import db
from feedback.i18n import customer_locale
from feedback.mail.suppression import suppression_for
from feedback.postmortem.access import customer_words_readable
from feedback.postmortem.emails import email_about
from feedback.postmortem.models import Cancellation
from feedback.questions.translations import localize
from feedback.settings.operations import current_settings
from feedback.surveys.consent import WinbackConsent, consenting
from feedback.surveys.models import Invitation, SurveyResponse
from feedback.surveys.operations import first_name, reply_address
from feedback.urls import external_url
from feedback.winback.models import ReferralContact, WinbackNotice

#: "How likely is it that you would come back one day?" at or above this counts as "might return".
LIKELY_TO_RETURN = 7
REASON_KEY = "main_reason"
LIKELIHOOD_KEY = "return_likelihood"
REFERRAL_KEY = "better_fit_referral"
SUBJECT_MAX = 300
BODY_MAX = 5000


class CannotTell(ValueError):
    """Why this customer cannot be told about this change (no consent, opted out, not done, already told)."""


class UnfinishedMessage(CannotTell):
    """The message itself needs the owner's words (the draft's placeholder is still there): fix it and send again."""


@dataclass(frozen=True)
class Ask:
    """A done change that a consenting customer asked to hear about, waiting for the owner's decision."""

    cancellation: Cancellation
    item: ActionItem
    url: str


def _active_consent(cancellation_id: Any) -> Any:
    return exists().where(WinbackConsent.cancellation_id == cancellation_id, WinbackConsent.withdrawn_at.is_(None))


def candidates(first_for: int | None = None, owner_id: int | None = None) -> Select[tuple[Cancellation]]:
    """Customers who consented or said they might return, the viewer's own first, newest first."""
    likely = SurveyResponse.answers[LIKELIHOOD_KEY].as_integer() >= LIKELY_TO_RETURN
    query = (
        select(Cancellation)
        .outerjoin(Invitation, Invitation.cancellation_id == Cancellation.id)
        .outerjoin(SurveyResponse, SurveyResponse.invitation_id == Invitation.id)
        .options(joinedload(Cancellation.owner))
        .where(or_(_active_consent(Cancellation.id), likely))
    )
    if owner_id is not None:
        query = query.where(Cancellation.owner_id == owner_id)
    order: list[Any] = []
    if first_for is not None:
        order.append(case((Cancellation.owner_id == first_for, 0), else_=1))
    return query.order_by(*order, Cancellation.cancelled_at.desc(), Cancellation.id.desc())


def answers_of(cancellation: Cancellation) -> dict[str, Any]:
    invitation = cancellation.invitation
    response = invitation.response if invitation else None
    return response.answers if response else {}


def reason_of(cancellation: Cancellation) -> str:
    """The customer's own main reason when they gave one, else what staff or billing recorded."""
    return str(answers_of(cancellation).get(REASON_KEY) or "")


def consent_of(cancellation: Cancellation) -> WinbackConsent | None:
    return db.session.scalar(select(WinbackConsent).where(WinbackConsent.cancellation_id == cancellation.id))


def items_for_reason(reason: str) -> list[ActionItem]:
    if not reason:
        return []
    return list(
        db.session.scalars(
            select(ActionItem)
            .options(joinedload(ActionItem.owner))
            .where(ActionItem.reason == reason)
            .order_by(case((ActionItem.status == "open", 0), (ActionItem.status == "done", 1), else_=2), ActionItem.id)
        )
    )


def decided(email: str) -> dict[int, WinbackNotice]:
    """The owner's decisions so far for this address, by item."""
    rows = db.session.scalars(select(WinbackNotice).where(WinbackNotice.email == email.strip().lower()))
    return {row.action_item_id: row for row in rows}


def may_be_told(cancellation: Cancellation) -> WinbackConsent | None:
    """The consent that lets us write, given on this cancellation's survey, still standing and not overruled."""
    consent = consent_of(cancellation)
    if consent is None or consent.withdrawn_at is not None:
        return None
    return consenting(cancellation.customer_email)


def asks_of(cancellation: Cancellation) -> list[Ask]:
    """Done changes addressing this customer's reason, since they consented, that the owner has not decided on."""
    consent = may_be_told(cancellation)
    if consent is None:
        return []
    known = decided(cancellation.customer_email)
    return [
        Ask(cancellation, item, external_url("winback.tell", cancellation_id=cancellation.id, item_id=item.id))
        for item in items_for_reason(reason_of(cancellation))
        if item.status == "done" and item.closed_at and item.closed_at >= consent.given_at and item.id not in known
    ]


def asks_for(user: User, today: Any = None) -> dict[str, Any]:
    """For the owner's weekly digest (registered with the actions feature): who they might tell, and about what."""
    asks: list[Ask] = []
    for cancellation in db.session.scalars(candidates(owner_id=user.id)).unique():
        asks.extend(asks_of(cancellation))
    return {"winback_asks": asks}


def reason_in_their_words(cancellation: Cancellation) -> str:
    """The reason as the customer read it on their survey, in the language of the current locale."""
    reason = reason_of(cancellation)
    response = cancellation.invitation.response if cancellation.invitation else None
    if response is None:
        return reason
    for question in response.version.questions:
        if question.key == REASON_KEY and reason in question.choices:
            localized = localize(question)
            return localized.labels[localized.choices.index(reason)]
    return reason


def change_placeholder() -> str:
    """Where the draft says what changed: the owner writes it for the customer, in the current locale's language.

    Never the action item's title, which is staff shorthand ("Offer a yearly plan below the Team tier")."""
    return gettext("[what changed, in words your customer will recognise: write it before sending]")


def default_message(cancellation: Cancellation, item: ActionItem, author: User) -> tuple[str, str]:
    """A first draft in the customer's language for the owner to edit: what they said, what changed, no pressure."""
    company = current_settings().company_name
    with customer_locale(cancellation.locale):
        subject = gettext("%(company)s: we changed what made you leave", company=company)
        body = gettext(
            "Hi %(name)s,\n\nWhen you left %(company)s, you told us: “%(reason)s”. You also said we could let you "
            "know if that changed.\n\nIt has: %(change)s.\n\nIf that makes a difference for you, just reply to this "
            "email. If not, there is no need to answer, and we won't write to you about this again.\n\n%(author)s",
            name=first_name(cancellation.customer_name),
            company=company,
            reason=reason_in_their_words(cancellation),
            change=change_placeholder(),
            author=author.name,
        )
    return subject, body


def _check_tellable(cancellation: Cancellation, item: ActionItem, by: User) -> None:
    if by.id != cancellation.owner_id:
        raise CannotTell(f"Only {cancellation.owner.name}, who owns this customer, can write to them.")
    if suppression_for(cancellation.customer_email) is not None:
        raise CannotTell("This customer unsubscribed from our email; we never write to them again.")
    if may_be_told(cancellation) is None:
        raise CannotTell("This customer has not agreed (or no longer agrees) to hear about changes.")
    if item.status != "done" or item.reason != reason_of(cancellation):
        raise CannotTell("Only a done change that addresses the customer's reason can be told.")


def tell_customer(cancellation: Cancellation, item: ActionItem, subject: str, body: str, by: User) -> WinbackNotice:
    """Queues the one "we changed this" email, with unsubscribe headers, after the owner's click. Flushes.

    The unique key on (address, item) makes it once: a second click, a second tab, finds it there.
    """
    _check_tellable(cancellation, item, by)
    subject = " ".join(subject.split())[:SUBJECT_MAX]
    body = body.strip()[:BODY_MAX]
    if not subject or not body:
        raise CannotTell("Write a subject and a message.")
    with customer_locale(cancellation.locale):
        unwritten = change_placeholder() in body
    if unwritten:
        raise UnfinishedMessage("Say what changed in your own words where the draft's [square brackets] are.")
    notice = WinbackNotice(
        cancellation_id=cancellation.id,
        action_item_id=item.id,
        email=cancellation.customer_email.strip().lower(),
        decision="sent",
        subject=subject,
        body=body,
        decided_by_id=by.id,
    )
    _decide_once(notice)
    with customer_locale(cancellation.locale):
        message = email_about(
            cancellation,
            "winback_notice",
            to=cancellation.customer_email,
            to_name=cancellation.customer_name,
            subject=subject,
            template="winback_notice",
            body=body,
            reply_to=reply_address(cancellation),
            company=current_settings().company_name,
            to_customer=True,
        )
    notice.outbox_message_id = message.id
    cancellation.record("winback_told", f"{by.name} told the customer about a change: {item.title}")
    db.session.flush()
    audit.record("winback.tell", notice, f"Emailed the customer of cancellation {cancellation.id} about action item"
                 f" {item.id}.", actor=by)  # fmt: skip
    return notice


def skip_telling(cancellation: Cancellation, item: ActionItem, by: User) -> WinbackNotice:
    """The owner decided this change is not worth an email to this customer; they are not asked again."""
    if by.id != cancellation.owner_id:
        raise CannotTell(f"Only {cancellation.owner.name}, who owns this customer, can decide this.")
    notice = WinbackNotice(
        cancellation_id=cancellation.id,
        action_item_id=item.id,
        email=cancellation.customer_email.strip().lower(),
        decision="skipped",
        decided_by_id=by.id,
    )
    _decide_once(notice)
    db.session.flush()
    audit.record("winback.skip", notice, f"No email to the customer of cancellation {cancellation.id} about action"
                 f" item {item.id}.", actor=by)  # fmt: skip
    return notice


def _decide_once(notice: WinbackNotice) -> None:
    """A second decision is refused, and the transaction rolled back so that nothing of it can be committed."""
    db.session.add(notice)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise CannotTell("This customer was already told about this change, or you decided not to.") from None


def referrals(reader: User) -> Select[tuple[SurveyResponse]]:
    """Answers to the referral question (better_fit_referral), newest first.

    A referral is the customer's words: only those the reader may read (feedback.postmortem.access) are listed.
    """
    answer = SurveyResponse.answers[REFERRAL_KEY].as_string()
    return (
        select(SurveyResponse)
        .join(SurveyResponse.invitation)
        .join(Invitation.cancellation)
        .options(contains_eager(SurveyResponse.invitation).contains_eager(Invitation.cancellation))
        .where(answer.is_not(None), func.length(func.trim(answer)) > 0, customer_words_readable(reader))
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
    )


def may_mark(response: SurveyResponse, user: User) -> bool:
    """Following a referral up is the owner's (or an admin's) call: a colleague's mark would tell the owner it is
    done when they have not done it."""
    return user.is_admin or response.invitation.cancellation.owner_id == user.id


def mark_contacted(response: SurveyResponse, by: User, contacted: bool) -> None:
    """Marks (or unmarks) a referral as followed up; marking twice keeps the first mark. Flushes."""
    existing = db.session.scalar(select(ReferralContact).where(ReferralContact.survey_response_id == response.id))
    target = ("survey_response", response.id)  # the referral is the customer's words: the trail names only its id
    if not contacted:
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
            audit.record("referral.unmark", target, "Marked not contacted.", actor=by)
    elif existing is None:
        db.session.add(ReferralContact(survey_response_id=response.id, contacted_by_id=by.id))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # a colleague marked it at the same moment: one mark is the point
            return
        audit.record("referral.mark", target, "Marked contacted.", actor=by)
    db.session.flush()


def contacts_by_response() -> dict[int, ReferralContact]:
    return {row.survey_response_id: row for row in db.session.scalars(select(ReferralContact))}
