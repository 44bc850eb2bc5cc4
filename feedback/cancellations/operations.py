"""Logging a cancellation: one function that the web form, the CLI and later the API and webhooks all call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from feedback import audit
from feedback.auth.models import User
from feedback.auth.operations import find_staff
from feedback.db import utcnow
from feedback.extensions import db
from feedback.helpdesk.operations import queue_fetch
from feedback.i18n import supported_locale
from feedback.inputs.schemas import CANCELLATION
from feedback.postmortem.models import STATES, Cancellation, Customer
from feedback.postmortem.outbound import announce_logged
from feedback.postmortem.timeline import REPORTER_LABELS, SOURCE_LABELS
from feedback.questions.models import QuestionnaireVersion
from feedback.questions.operations import live_version
from feedback.reviews.operations import queue_review_request
from feedback.summaries.models import Summary
from feedback.surveys.models import Invitation
from feedback.surveys.operations import create_invitation, queue_invitation


class InvalidCancellation(ValueError):
    """Carries a message per field, so the form, the CLI and the API can each say what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass
class NewCancellation:
    customer_name: str
    customer_email: str
    owner_email: str
    company: str = ""
    plan: str = ""
    mrr: Decimal | None = None
    #: ISO 4217 (JPY, USD); None: the company's currency.
    currency: str | None = None
    customer_since: date | None = None
    reason: str = ""
    complaint: str = ""
    cancelled_at: datetime | None = None
    source: str = "web"
    logged_by: User | None = None
    #: The customer's language (en, de, fr; de-CH reads as de); empty lets their browser choose.
    locale: str | None = None
    customer: Customer | None = None
    #: Stripe-style cancellation feedback (too_expensive, ...) and the customer's own comment.
    feedback: str = ""
    comment: str = ""
    #: Billing told us of the cancellation but not how to reach the customer: hold the invitation until staff add it.
    needs_contact: bool = False
    #: When a cancellation scheduled in billing takes effect (see feedback.billing): "Cancels on …".
    ends_at: datetime | None = None
    #: A failed or disputed payment ended it: no survey or review request unless INVOLUNTARY_SURVEY.
    involuntary: bool = False
    #: What the way in calls this report (a Stripe event id), for the timeline of a postmortem it joins.
    reference: str = ""


def check_cancellation(
    data: NewCancellation, strict: bool = False, find_owner: Callable[[str], User | None] = find_staff
) -> tuple[NewCancellation, User]:
    """Tidies `data` in place and finds its owner; raises InvalidCancellation with every problem at once.

    `find_owner` looks a staff member up by address (a CSV import asks a table it loaded once).

    The field rules are the CANCELLATION schema's; whether the owner is an active staff member is asked here.
    `strict` refuses control characters in single-line fields (the CLI's options); otherwise they become spaces,
    the ways in that take text from people (forms, API, webhooks, CSV) having refused them already.
    """
    # Held for contact details: the name and address come later, from staff, and `complete_contact` checks them.
    awaiting_contact = data.needs_contact and not (data.customer_email or "").strip()
    values = {name: getattr(data, name) for name in CANCELLATION}
    optional = ("customer_name", "customer_email") if awaiting_contact else ()
    cleaned, errors = CANCELLATION.check(values, optional=optional, strict=strict)
    for name, value in cleaned.items():
        setattr(data, name, value)
    owner = None
    if "owner_email" not in errors:
        owner = find_owner(data.owner_email)
        if owner is None:
            errors["owner_email"] = f"No staff member has the address {data.owner_email!r}."
        elif not owner.active:
            errors["owner_email"] = f"{owner.email} is deactivated; choose an active account owner."
    if errors:
        raise InvalidCancellation(errors)
    assert owner is not None
    return data, owner


@dataclass
class MailLater:
    """How a CSV import logs many cancellations at once: the invitation is made now, its emails are queued after
    the import commits (`queue_invitation_mail`), and nothing is flushed row by row."""

    questions: QuestionnaireVersion
    link_lifetime: timedelta
    find_owner: Callable[[str], User | None] = find_staff


def log_cancellation(data: NewCancellation, strict: bool = False, later: MailLater | None = None) -> Cancellation:
    """Records the cancellation, its invitation and both emails; the caller commits them together, or none.

    The caller's transaction may hold more of its own (an idempotency record, a processed event id). With
    `later`, the emails are left for `queue_invitation_mail` and the caller flushes.
    """
    data, owner = check_cancellation(data, strict, later.find_owner if later else find_staff)
    customer = data.customer or customer_for(data)
    # An import makes many at once without a query per row; its own preview deals with repeated rows.
    existing = (
        None
        if later or data.source == "demo"
        else open_postmortem(data.customer_email, customer.id, customer.external_id, data.cancelled_at)
    )
    if existing is not None:
        return join_postmortem(existing, data)
    cancellation = Cancellation(
        customer_name=data.customer_name,
        customer_email=data.customer_email,
        company=data.company,
        plan=data.plan,
        mrr=data.mrr,
        currency=data.currency,
        customer_since=data.customer_since,
        reason=data.reason,
        complaint=data.complaint,
        owner=owner,
        logged_by=data.logged_by,
        source=data.source,
        cancelled_at=data.cancelled_at or utcnow(),
        locale=data.locale or supported_locale(customer.locale),
        customer=customer,
        feedback=data.feedback,
        comment=data.comment,
        state="needs_contact" if data.needs_contact else "logged",
        ends_at=data.ends_at,
        involuntary=data.involuntary,
    )
    db.session.add(cancellation)
    who = f" by {data.logged_by.name}" if data.logged_by else ""
    cancellation.record("logged", f"Logged from the {SOURCE_LABELS.get(data.source, data.source)}{who}.")
    if cancellation.cancels_on:
        cancellation.record("scheduled", f"{cancellation.cancels_on}: the customer decided today, so we ask now.")
    if data.needs_contact:
        cancellation.record("needs_contact", "No email address for the customer yet: the survey waits for one.")
    elif data.involuntary and not current_app.config["INVOLUNTARY_SURVEY"]:
        cancellation.record(
            "involuntary",
            "Involuntary: the payment failed or was disputed, so no exit survey or review request went. "
            "Start the postmortem from this page if you want one.",
        )
    elif later:
        create_invitation(cancellation, later.questions, later.link_lifetime)
        return cancellation
    else:
        invite(cancellation)
    queue_fetch(cancellation)  # the worker reads the help desk; logging never waits for it
    db.session.flush()
    announce_logged([cancellation])  # an import announces its batches itself
    if data.source not in ("csv", "demo"):  # an import is recorded once, as a whole
        audit.record(
            "cancellation.log", cancellation, f"Logged from the {SOURCE_LABELS.get(data.source, data.source)}."
        )
    return cancellation


#: Facts a later report of the same departure may fill in, when the open postmortem lacks them.
JOINED_FACTS = (
    "company",
    "plan",
    "mrr",
    "currency",
    "customer_since",
    "reason",
    "complaint",
    "feedback",
    "comment",
    "ends_at",
)


def open_postmortem(
    email: str, customer_id: int | None = None, external_id: str | None = None, left_at: datetime | None = None
) -> Cancellation | None:
    """The customer's postmortem that a new report of their departure (`left_at`, default now) joins: one not yet
    summarised whose departure (or scheduled end) is within DUPLICATE_WINDOW_DAYS of it, or one summarised within
    DUPLICATE_WINDOW_DAYS; never one that ended because they stayed, nor an erased one. A customer who came back
    and left again a year later is a new postmortem, beside the earlier one.

    The same customer record, or the same address unless both name different billing ids (one person with two
    accounts leaves twice).
    """
    same: list[Any] = []
    if customer_id is not None:
        same.append(Cancellation.customer_id == customer_id)
    if email:
        by_address = func.lower(Cancellation.customer_email) == email.lower()
        if external_id:
            other_account = select(Customer.id).where(
                Customer.id == Cancellation.customer_id,
                Customer.external_id.is_not(None),
                Customer.external_id != external_id,
            )
            by_address = and_(by_address, ~other_account.exists())
        same.append(by_address)
    if not same:
        return None
    window = timedelta(days=current_app.config["DUPLICATE_WINDOW_DAYS"])
    left_at = left_at or utcnow()
    near = (left_at - window, left_at + window)
    unsummarised = and_(
        Summary.id.is_(None), or_(Cancellation.cancelled_at.between(*near), Cancellation.ends_at.between(*near))
    )
    return db.session.scalar(
        select(Cancellation)
        .outerjoin(Summary, Summary.cancellation_id == Cancellation.id)
        .where(
            or_(*same),
            Cancellation.stayed_at.is_(None),
            Cancellation.erased_at.is_(None),
            or_(unsummarised, Summary.created_at >= utcnow() - window),
        )
        .order_by(Cancellation.cancelled_at.desc(), Cancellation.id.desc())
        .limit(1)
    )


def join_postmortem(existing: Cancellation, data: NewCancellation) -> Cancellation:
    """One postmortem per departure: the second report fills the facts the first lacked and mails nothing."""
    filled = []
    for name in JOINED_FACTS:
        value = getattr(data, name)
        if value not in (None, "") and getattr(existing, name) in (None, ""):
            setattr(existing, name, value)
            filled.append(name.replace("_", " "))
    label = REPORTER_LABELS.get(data.source, data.source)
    detail = f"Also reported by {label}" + (f" ({data.reference})" if data.reference else "") + "."
    if filled:
        detail += f" Filled in: {', '.join(filled)}."
    existing.record("joined", detail)
    existing.joined = True
    db.session.flush()
    return existing


def start_postmortem(cancellation: Cancellation) -> None:
    """An owner starts by hand what an involuntary cancellation did not: the exit survey and the review request."""
    if cancellation.invitation is not None or not cancellation.customer_email or cancellation.stayed_at:
        return
    invite(cancellation)
    cancellation.record("started", "Postmortem started by hand: the exit survey and the review request are queued.")
    db.session.flush()


def customer_for(data: NewCancellation) -> Customer:
    """A cancellation logged by hand names no customer record: reuse the one with this address, or start one."""
    if data.customer_email:
        found = db.session.scalar(
            select(Customer).where(Customer.email == data.customer_email).order_by(Customer.id).limit(1)
        )
        if found is not None:
            return found
    return Customer(
        name=data.customer_name,
        email=data.customer_email,
        company=data.company,
        plan=data.plan,
        mrr=data.mrr,
        currency=data.currency,
        customer_since=data.customer_since,
        owner_email=data.owner_email.strip().lower(),
        locale=data.locale or "",
    )


def invite(cancellation: Cancellation, questions: QuestionnaireVersion | None = None) -> None:
    """Queues the exit survey (today's questions unless given) and the owner's review request: once the customer
    can be reached."""
    queue_invitation_mail(create_invitation(cancellation, questions or live_version("exit-survey")))


def queue_invitation_mail(invitation: Invitation) -> None:
    """The customer's invitation and the owner's review request, for an invitation just made (or imported)."""
    queue_invitation(invitation)
    if invitation.cancellation.review is None:  # staff may have reviewed while the contact details were missing
        queue_review_request(invitation.cancellation)


def listed_with() -> tuple[Any, ...]:
    """What a list of cancellations shows beside each row: one query per relation rather than one per row."""
    return (
        selectinload(Cancellation.owner),
        selectinload(Cancellation.customer),
        selectinload(Cancellation.invitation),
    )


def visible_cancellations(user: Any, state: str = "", mine: bool = False) -> Select[tuple[Cancellation]]:
    """The staff list and its CSV export: owners see their own cancellations only, admins all; newest first."""
    query = (
        select(Cancellation).options(*listed_with()).order_by(Cancellation.cancelled_at.desc(), Cancellation.id.desc())
    )
    if mine or not user.is_admin:
        query = query.where(Cancellation.owner_id == user.id)
    if state in STATES:
        query = query.where(Cancellation.state == state)
    return query
