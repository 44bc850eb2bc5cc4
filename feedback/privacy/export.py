"""One JSON document with everything Farewell holds about one person (GDPR article 15 and 20)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary, func, or_, select

from feedback import audit
from feedback.customers.operations import customer_json, iso, mrr_and_since
from feedback.db import personal_columns, utcnow
from feedback.extensions import db
from feedback.formatting import plural
from feedback.helpdesk.models import Conversation
from feedback.inbound.models import CustomerReply, InboundMessage
from feedback.mail.models import OutboxContent, OutboxMessage, Suppression
from feedback.mail.suppression import opted_out_with
from feedback.postmortem.models import Cancellation, CancellationEvent, Customer
from feedback.privacy.mentions import rows_naming
from feedback.privacy.records import Person
from feedback.reviews.models import Review
from feedback.summaries.operations import answered_questions
from feedback.surveys.consent import WinbackConsent
from feedback.surveys.models import LinkRenewal, SurveyResponse

FORMAT = "farewell-personal-data/1"


def export_person(person: Person) -> dict[str, Any]:
    """Customer records, cancellations with their timelines, survey answers with the questions they answered,
    reviews, every email sent to them or about them (with its body), the suppression (opt-out) record and
    the links they asked for. Recorded in the audit trail, since an export is itself a disclosure.
    """
    suppression = person.suppression()
    document = {
        "format": FORMAT,
        "exported_at": iso(utcnow()),
        "email": person.email,
        "customers": [customer_json(c) for c in person.customers],
        "cancellations": [_cancellation(c) for c in person.cancellations],
        "emails": [_message(m) for m in person.messages()],
        "suppression": None
        if suppression is None
        else {
            "opted_out_at": iso(suppression.created_at),
            "how": opted_out_with(suppression.source),
            "reason": suppression.reason,
        },
        "mail_received": [_received(m) for m in person.inbound_messages()],
        "win_back_consents": [_consent(c) for c in _consents(person)],
        "help_desk_conversations": [_conversation(c) for c in conversations_of(person.customers)],
        "mentioned_in": _mentions(person),
    }
    target = ("customer", ",".join(str(c.id) for c in person.customers) or "-")
    audit.record(
        "customer.export", target, f"Exported {plural(len(person.cancellations), 'cancellation', 'cancellations')}."
    )
    return document


#: What the sections above already hold in full; `mentioned_in` lists the rest.
_EXPORTED = (
    Conversation,
    Customer,
    Cancellation,
    CancellationEvent,
    InboundMessage,
    CustomerReply,
    Suppression,
    WinbackConsent,
    SurveyResponse,
    Review,
)


def conversations_of(customers: list[Customer]) -> list[Conversation]:
    ids = [c.id for c in customers]
    if not ids:
        return []
    query = select(Conversation).where(Conversation.customer_id.in_(ids))
    return list(db.session.scalars(query.order_by(Conversation.opened_at.desc(), Conversation.id)))


def _conversation(c: Conversation) -> dict[str, Any]:
    """What we kept of one help-desk conversation: all of it (issue 26, item 6)."""
    return {
        "customer_id": c.customer_id,
        "help_desk": c.source,
        "id": c.external_id,
        "url": c.url,
        "subject": c.subject,
        "status": c.status,
        "channel": c.channel,
        "opened_at": iso(c.opened_at),
        "solved_at": iso(c.solved_at) if c.solved_at else None,
        "replies": c.replies,
        "satisfaction": c.satisfaction,
        "tags": c.tags,
        "opening_message": c.opening_message,
    }


def _mentions(person: Person) -> list[dict[str, Any]]:
    """Every other row whose declared personal columns name them (an action item, a win-back notice, a
    colleague's mail, an audit detail), found the way erasure finds them, with those columns' text."""
    theirs = {c.id for c in person.cancellations}
    listed = {m.id for m in person.messages()}
    found = []
    for row in rows_naming(person.scrubber().identifiers, theirs):
        if isinstance(row, _EXPORTED) or getattr(row, "id", None) in listed and isinstance(row, OutboxMessage):
            continue
        if isinstance(row, OutboxContent) and row.message_id in listed:
            continue
        columns = {
            c.key: getattr(row, c.key) for c in personal_columns(type(row)) if not isinstance(c.type, LargeBinary)
        }
        key = db.inspect(row).identity
        found.append({"table": row.__tablename__, "id": key[0] if len(key) == 1 else list(key), "columns": columns})
    return found


def _answers(version: Any, answers: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": row.key, "question": row.prompt, "answer": row.answer, "value": answers.get(row.key)}
        for row in answered_questions(version, answers)
    ]


def _cancellation(cancellation: Cancellation) -> dict[str, Any]:
    invitation = cancellation.invitation
    response = invitation.response if invitation else None
    review = cancellation.review
    renewals = (
        db.session.scalars(select(LinkRenewal).where(LinkRenewal.invitation_id == invitation.id)).all()
        if invitation
        else []
    )
    return {
        "id": cancellation.id,
        "customer_name": cancellation.customer_name,
        "customer_email": cancellation.customer_email,
        "company": cancellation.company,
        "plan": cancellation.plan,
        **mrr_and_since(cancellation),
        "reason": cancellation.reason,
        "complaint": cancellation.complaint,
        "feedback": cancellation.feedback or None,
        "comment": cancellation.comment,
        "state": cancellation.state,
        "locale": cancellation.locale,
        "cancelled_at": iso(cancellation.cancelled_at),
        "erased_at": iso(cancellation.erased_at),
        "timeline": [{"at": iso(e.at), "kind": e.kind, "detail": e.detail} for e in cancellation.events],
        "survey": None
        if invitation is None
        else {
            "sent_at": iso(invitation.sent_at),
            "expires_at": iso(invitation.expires_at),
            "answered_at": iso(invitation.answered_at),
            "fresh_links_requested": [iso(r.requested_at) for r in renewals],
            "answers": _answers(response.version, response.answers) if response else None,
            "browser": response.user_agent if response else None,
        },
        "review": None
        if review is None
        else {
            "by": review.author.name,
            "submitted_at": iso(review.submitted_at),
            "answers": _answers(review.version, review.answers),
        },
    }


def _received(message: InboundMessage) -> dict[str, Any]:
    """A reply, a kept-aside message or a bounce, as Farewell read it (the raw message is theirs too, in full)."""
    return {
        "received_at": iso(message.received_at),
        "via": message.via,
        "from": message.from_address,
        "subject": message.subject,
        "status": message.status,
        "text": message.text,
        "attachments": message.attachments,
        "cancellation_id": message.cancellation_id,
        "raw": bytes(message.raw).decode("utf-8", "replace"),
    }


def _consents(person: Person) -> list[WinbackConsent]:
    ids = [c.id for c in person.cancellations]
    query = select(WinbackConsent).where(
        or_(WinbackConsent.cancellation_id.in_(ids), func.lower(WinbackConsent.email) == person.email)
    )
    return list(db.session.scalars(query.order_by(WinbackConsent.id)))


def _consent(consent: WinbackConsent) -> dict[str, Any]:
    return {
        "cancellation_id": consent.cancellation_id,
        "email": consent.email,
        "given_at": iso(consent.given_at),
        "withdrawn_at": iso(consent.withdrawn_at),
        "wording_version": consent.wording_version,
        "locale": consent.locale,
    }


def _message(message: OutboxMessage) -> dict[str, Any]:
    content = message.content
    return {
        "kind": message.kind,
        "to": message.recipient,
        "subject": message.subject,
        "status": message.status,
        "queued_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "body_text": content.body_text if content else "",
        "body_html": content.body_html if content else "",
    }
