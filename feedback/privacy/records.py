"""Finding everything Farewell holds about one person, by their email address."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from feedback.extensions import db
from feedback.inbound.models import InboundMessage
from feedback.mail.models import OutboxMessage, Suppression
from feedback.postmortem.models import Cancellation, Customer
from feedback.privacy.mentions import rows_naming
from feedback.privacy.scrub import Scrubber, address_hash


@dataclass
class Person:
    """One person's records: the customers with their address and every cancellation of theirs."""

    email: str
    customers: list[Customer] = field(default_factory=list)
    cancellations: list[Cancellation] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.customers or self.cancellations)

    def scrubber(self) -> Scrubber:
        words = [self.email]
        for customer in self.customers:
            words += [customer.name, customer.email, customer.company, customer.external_id or ""]
        for cancellation in self.cancellations:
            words += [cancellation.customer_name, cancellation.customer_email, cancellation.company]
        return Scrubber(words)

    def messages(self) -> list[OutboxMessage]:
        """Every email to them, and every email about one of their cancellations (review requests, summaries)."""
        ids = [c.id for c in self.cancellations]
        query = select(OutboxMessage).where(
            or_(func.lower(OutboxMessage.recipient) == self.email, OutboxMessage.cancellation_id.in_(ids))
        )
        return list(db.session.scalars(query.order_by(OutboxMessage.id)))

    def inbound_messages(self, unmatched: bool = True) -> list[InboundMessage]:
        """Mail received about one of their cancellations (replies, kept-aside ones, bounces), and with
        `unmatched`, mail matched to no postmortem that names them (a colleague's forward, one that failed).

        Mail is selected by the postmortem it was matched to, never by its From: alone: anyone can write
        another person's address there, and a message matched to someone else's postmortem is that one's.
        """
        theirs = {c.id for c in self.cancellations}
        query = select(InboundMessage).where(InboundMessage.cancellation_id.in_(theirs))
        found = {m.id: m for m in db.session.scalars(query)}
        if unmatched:
            for message in rows_naming(self.scrubber().identifiers, theirs, models=(InboundMessage,)):
                if message.cancellation_id is None:
                    found[message.id] = message  # type: ignore[union-attr]
        return [found[key] for key in sorted(found)]

    def suppression(self) -> Suppression | None:
        return db.session.scalar(
            select(Suppression).where(Suppression.address.in_([self.email, address_hash(self.email)]))
        )


def find_person(email: str) -> Person:
    email = email.strip().lower()
    customers = list(
        db.session.scalars(select(Customer).where(func.lower(Customer.email) == email).order_by(Customer.id))
    )
    customer_ids = [c.id for c in customers]
    cancellations = list(
        db.session.scalars(
            select(Cancellation)
            .where(or_(func.lower(Cancellation.customer_email) == email, Cancellation.customer_id.in_(customer_ids)))
            .order_by(Cancellation.id)
        )
    )
    return Person(email, customers, cancellations)


def person_of_customer(customer: Customer) -> Person:
    """The person behind a customer record (by its address, or the record alone if it has none)."""
    if customer.email:
        return find_person(customer.email)
    cancellations = list(db.session.scalars(select(Cancellation).where(Cancellation.customer_id == customer.id)))
    return Person("", [customer], cancellations)
