"""Erasing a person, and anonymising a postmortem past its retention, the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import String, cast, delete, func, or_, select

from feedback import audit
from feedback.api.models import IdempotentRequest
from feedback.audit.models import AuditEvent
from feedback.db import utcnow
from feedback.events.emit import emit, forget
from feedback.extensions import db
from feedback.formatting import plural
from feedback.helpdesk.models import Conversation, HelpdeskFetch
from feedback.imports.models import ImportRun
from feedback.inbound.models import CustomerReply, InboundMessage
from feedback.mail.models import Suppression
from feedback.postmortem.models import Cancellation
from feedback.privacy.records import Person, find_person
from feedback.privacy.scrub import ERASED, FREE_TEXT_TYPES, Scrubber, address_hash
from feedback.privacy.sweep import erase_message, sweep
from feedback.reviews.models import Review
from feedback.surveys.consent import WinbackConsent
from feedback.surveys.models import SurveyResponse

#: Where a name was, in lists and on the cancellation's page.
ERASED_NAME = "Erased customer"


class NothingToErase(LookupError):
    """No customer or cancellation has this address."""


@dataclass(frozen=True)
class Erased:
    customers: int
    cancellations: int
    messages: int

    def __str__(self) -> str:
        return (
            f"{plural(self.customers, 'customer record', 'customer records')}, "
            f"{plural(self.cancellations, 'cancellation', 'cancellations')} and "
            f"{plural(self.messages, 'email', 'emails')}"
        )


def erase_person(email: str, why: str = "") -> Erased:
    """Removes what identifies the person with this address from every table; keeps the anonymous facts.

    Flushes, never commits: the command, the page or the API request that asked commits it.
    """
    person = find_person(email)
    if not person.found:
        raise NothingToErase(f"No customer or cancellation has the address {email.strip().lower()}.")
    return erase_found(person, why)


def erase_found(person: Person, why: str = "") -> Erased:
    """`erase_person` for a person already found (the API names a customer record, which may have no address)."""
    erased = _erase(person, "erased")
    audit.record(
        "customer.erase",
        ("customer", ",".join(str(c.id) for c in person.customers) or "-"),
        f"Erased {erased}" + (f" ({why})" if why else "") + ".",
    )
    return erased


def anonymise_cancellation(cancellation: Cancellation) -> Erased:
    """Retention: the postmortem loses its person; their other cancellations keep theirs until they are due."""
    person = Person(cancellation.customer_email.strip().lower(), [], [cancellation])
    # The customer record goes too once no cancellation of theirs still names them.
    customer = cancellation.customer
    if customer is not None and not any(
        c.erased_at is None and c.id != cancellation.id
        for c in db.session.scalars(select(Cancellation).where(Cancellation.customer_id == customer.id))
    ):
        person.customers.append(customer)
    return _erase(person, "anonymised", keep_suppression_unless_last=True)


def _erase(person: Person, verb: str, keep_suppression_unless_last: bool = False) -> Erased:
    scrub = person.scrubber()
    now = utcnow()
    messages = person.messages()
    for message in messages:
        erase_message(message, person.email, scrub)
    for cancellation in person.cancellations:
        _erase_cancellation(cancellation, scrub, verb)
        cancellation.erased_at = now
    _delete_conversations(person)
    for customer in person.customers:
        customer.name = customer.email = customer.company = ""
        customer.external_id = None
        customer.erased_at = now
    if person.email:
        still_named = keep_suppression_unless_last and db.session.scalar(
            select(func.count())
            .select_from(Cancellation)
            .where(
                func.lower(Cancellation.customer_email) == person.email,
                Cancellation.id.not_in([c.id for c in person.cancellations]),
            )
        )
        if not still_named:
            _hash_suppression(person.email, scrub)
    _delete_mail_received(person)
    _scrub_import_files(scrub)
    _scrub_idempotent_replays(scrub)
    _scrub_audit(scrub)
    theirs = {c.id for c in person.cancellations}
    kept = _still_theirs(person) if keep_suppression_unless_last else set()
    sweep(person.email, scrub, theirs, kept)
    _forget_events(person, verb)
    db.session.flush()
    return Erased(len(person.customers), len(person.cancellations), len(messages))


def _still_theirs(person: Person) -> set[int]:
    """Retention: the person's other postmortems, not yet due, which keep naming her."""
    customer_ids = [c.customer_id for c in person.cancellations if c.customer_id is not None]
    conditions = [Cancellation.customer_id.in_(customer_ids)]
    if person.email:
        conditions.append(func.lower(Cancellation.customer_email) == person.email)
    query = select(Cancellation.id).where(Cancellation.erased_at.is_(None), or_(*conditions))
    return set(db.session.scalars(query)) - {c.id for c in person.cancellations}


def _forget_events(person: Person, verb: str) -> None:
    """Events about them keep their ids and links only, what had not gone yet never goes; receivers are told."""
    ids = [c.id for c in person.cancellations]
    forget(ids)
    emit(
        "customer.erased",
        {"how": verb, "cancellation_ids": ids, "customer_ids": [c.id for c in person.customers]},
    )


def _delete_conversations(person: Person) -> None:
    """Their help-desk conversations are their words: they go, with any fetch still waiting to bring more."""
    customer_ids = {c.id for c in person.customers}
    if customer_ids:
        db.session.execute(delete(Conversation).where(Conversation.customer_id.in_(customer_ids)))
    ids = [c.id for c in person.cancellations]
    if ids:
        db.session.execute(
            delete(HelpdeskFetch).where(HelpdeskFetch.cancellation_id.in_(ids), HelpdeskFetch.state == "queued")
        )


def _delete_mail_received(person: Person) -> None:
    """A reply by email is the person's own words, and its raw message holds all of them: both go, not scrubbed."""
    ids = [c.id for c in person.cancellations]
    if ids:
        db.session.execute(delete(CustomerReply).where(CustomerReply.cancellation_id.in_(ids)))
        # Consent to be contacted again was theirs to give; an erased person can no longer be asked.
        db.session.execute(delete(WinbackConsent).where(WinbackConsent.cancellation_id.in_(ids)))
    received = [m.id for m in person.inbound_messages(unmatched=False)]
    if received:
        db.session.execute(delete(CustomerReply).where(CustomerReply.inbound_message_id.in_(received)))
        db.session.execute(delete(InboundMessage).where(InboundMessage.id.in_(received)))


def _scrub_import_files(scrub: Scrubber) -> None:
    """An uploaded CSV that named them is kept no longer once its import is over; its problems are scrubbed.

    A file still being checked or imported is left to finish (its rows then hold the person again, and a second
    erasure removes them): cutting it out from under the worker would fail the whole import for everyone in it.
    """
    for run in db.session.scalars(select(ImportRun)):  # uploads are few, and kept only while they matter
        named = scrub.found_in(bytes(run.data or b"").decode("utf-8", "replace"))
        if named and run.finished_at is not None:
            run.data = None
        if scrub.found_in(json.dumps(run.problems)):
            run.problems = scrub.json(run.problems)
        run.filename = scrub.text(run.filename)


def _erase_cancellation(cancellation: Cancellation, scrub: Scrubber, verb: str) -> None:
    cancellation.customer_name = ERASED_NAME
    cancellation.customer_email = ""
    cancellation.company = ""
    cancellation.reason = scrub.text(cancellation.reason)
    cancellation.complaint = ""
    cancellation.comment = ""
    for event in cancellation.events:
        event.detail = scrub.text(event.detail)
    invitation = cancellation.invitation
    if invitation is not None and invitation.answered_at is None and invitation.expired_at is None:
        # Closed: an answer arriving now would write the person's words back into a postmortem erased of them.
        invitation.expired_at = utcnow()
    response: SurveyResponse | None = invitation.response if invitation else None
    if response is not None:
        response.answers = _facts_only(response.version.questions, response.answers)
        response.user_agent = ""
    review: Review | None = cancellation.review
    if review is not None:
        # The reviewer's own analysis stays, minus any mention of the person; verdicts (choices) stay as they are.
        review.answers = scrub.json(review.answers)
    cancellation.record(verb, f"The customer's personal data was {verb}; the anonymous facts remain.")


def _facts_only(questions: list, answers: dict) -> dict:
    """The answers to choice, rating and yes/no questions; free text (and anything unknown) goes."""
    kept = {q.key for q in questions if q.type not in FREE_TEXT_TYPES}
    return {key: value for key, value in answers.items() if key in kept}


def _hash_suppression(email: str, scrub: Scrubber) -> None:
    suppression = db.session.scalar(select(Suppression).where(Suppression.address == email))
    if suppression is not None:
        suppression.address = address_hash(email)
        suppression.reason = scrub.text(suppression.reason)


def _scrub_idempotent_replays(scrub: Scrubber) -> None:
    """The API keeps its first answer to replay it; an answer that described the person is scrubbed, not lost."""
    if not scrub.words:
        return
    for word in scrub.words:
        rows = db.session.scalars(
            select(IdempotentRequest).where(
                func.lower(cast(IdempotentRequest.response_body, String)).contains(word.lower())
            )
        )
        for row in rows:
            row.response_body = scrub.json(row.response_body)


def _scrub_audit(scrub: Scrubber) -> None:
    """The trail says what was done to a record by id; a detail that named the person loses the name."""
    for word in scrub.words:
        for event in db.session.scalars(select(AuditEvent).where(func.lower(AuditEvent.detail).contains(word.lower()))):
            event.detail = scrub.text(event.detail)


__all__ = ["ERASED", "ERASED_NAME", "Erased", "NothingToErase", "anonymise_cancellation", "erase_person"]
