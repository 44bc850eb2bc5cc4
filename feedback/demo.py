"""`flask demo`: believable demo data, so that `make run` opens on a team that has lost a few customers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from feedback.actions.models import ActionItem
from feedback.actions.operations import DEFAULT_DUE_DAYS, add_item, close_item
from feedback.auth.models import User
from feedback.auth.operations import find_staff
from feedback.cancellations.operations import NewCancellation, log_cancellation
from feedback.db import utcnow
from feedback.extensions import db
from feedback.insights.bulk import load_bulk
from feedback.mail.models import OutboxMessage
from feedback.postmortem.models import Cancellation
from feedback.reviews.models import Review
from feedback.reviews.operations import review_version, submit_review
from feedback.settings.operations import save_settings
from feedback.surveys.operations import expire_overdue_invitations, submit_survey

PASSWORD = "farewell-demo"  # noqa: S105 - printed by `make run`; demo data is for a laptop

#: The demo team's company, as an admin would set it under Admin → Settings: customers never read "Farewell".
COMPANY = {"company_name": "Loomwork", "logo_url": "/static/demo-logo.svg", "accent_color": "#4338ca"}

STAFF = [
    ("admin@example.com", "Maya Patel", "admin"),
    ("jonas@example.com", "Jonas Weber", "owner"),
    ("priya@example.com", "Priya Raman", "owner"),
]

#: (days ago, customer, email, company, plan, mrr, months a customer, owner, reason, survey answers, review answers)
STORIES: list[dict[str, Any]] = [
    {
        "days_ago": 75,
        "name": "Elena Rossi",
        "email": "elena@trattoria-digitale.example",
        "company": "Trattoria Digitale",
        "plan": "Team",
        "mrr": "149.00",
        "months": 26,
        "owner": "jonas@example.com",
        "reason": "Budget cuts",
        "complaint": "Price went up at renewal.",
        #: Its first action item, closed as done, with this note.
        "done": "Called all twelve accounts on the old price list.",
        "survey": {
            "main_reason": "It was too expensive for us",
            "final_straw": "The renewal quote was 40% higher.",
            "could_have_done": "Tell us earlier, and offer a smaller plan.",
            "valued": "Your support team.",
            "return_likelihood": 7,
            "may_follow_up": True,
        },
        "review": {
            "this_week": "Renewal quote went out without a call.",
            "relationship_history": "Usage fell for three months; we never asked why.",
            "action_items": "Call every account 60 days before a price change\nOffer a downgrade path before renewal",
            "icp_fit": "Yes, a good fit",
            "avoidable": "Yes",
        },
    },
    {
        "days_ago": 62,
        "name": "Tom Becker",
        "locale": "de",  # his survey and its emails are in German
        "email": "tom@nordlicht.example",
        "company": "Nordlicht Logistik",
        "plan": "Business",
        "mrr": "420.00",
        "months": 14,
        "owner": "priya@example.com",
        "reason": "Switched to competitor",
        "complaint": "Needed SSO for their auditors.",
        "survey": {
            "main_reason": "It was missing something we needed",
            "final_straw": "Our audit required SSO.",
            "could_have_done": "Ship SSO, or tell us honestly it was a year away.",
            "return_likelihood": 5,
            "may_follow_up": True,
            "better_fit_referral": "Smaller agencies.",
        },
        "review": {
            "this_week": "They signed with a competitor that has SAML.",
            "relationship_history": "SSO request logged twice in the past year; no answer from product.",
            "customer_told_us": "Auditors flagged shared passwords.",
            "action_items": "Publish an SSO timeline\nRoute enterprise blockers to product weekly",
            "icp_fit": "Partly",
            "avoidable": "Maybe",
        },
    },
    {
        "days_ago": 48,
        "name": "Aisha Khan",
        "email": "aisha@brightpath.example",
        "company": "BrightPath Tutoring",
        "plan": "Starter",
        "mrr": "29.00",
        "months": 5,
        "owner": "jonas@example.com",
        "reason": "Not using it",
        "complaint": "",
        "survey": None,
        "review": {
            "this_week": "Cancelled from the billing page, no contact.",
            "relationship_history": "Never finished onboarding; two logins in five months.",
            "action_items": "Onboarding check-in at day 14 for Starter accounts",
            "icp_fit": "No, not a fit",
            "avoidable": "No",
        },
    },
    {
        "days_ago": 30,
        "name": "Daniel Osei",
        "email": "daniel@kumasi-crafts.example",
        "company": "Kumasi Crafts",
        "plan": "Team",
        "mrr": "149.00",
        "months": 31,
        "owner": "priya@example.com",
        "reason": "Outages",
        "complaint": "Two outages during their launch week.",
        "survey": {
            "main_reason": "Something kept breaking",
            "final_straw": "The outage on launch day.",
            "could_have_done": "A status page that told the truth.",
            "valued": "The product, when it worked.",
            "return_likelihood": 3,
            "may_follow_up": False,
        },
        "review": None,
    },
    {
        "days_ago": 12,
        "name": "Sofia Lindqvist",
        "email": "sofia@fjordfoto.example",
        "company": "Fjord Foto",
        "plan": "Starter",
        "mrr": "29.00",
        "months": 9,
        "owner": "jonas@example.com",
        "reason": "Business closed",
        "complaint": "",
        "survey": {
            "main_reason": "Our business or needs changed",
            "valued": "How easy it was to start.",
            "return_likelihood": 9,
            "may_follow_up": True,
        },
        "review": {
            "this_week": "Studio is closing; nothing we could do.",
            "relationship_history": "Healthy account.",
            "action_items": "None for this account",
            "icp_fit": "Yes, a good fit",
            "avoidable": "No",
        },
    },
    {
        "days_ago": 6,
        "name": "Marcus Chen",
        "email": "marcus@harbourbooks.example",
        "company": "Harbour Books",
        "plan": "Business",
        "mrr": "380.00",
        "months": 19,
        "owner": "priya@example.com",
        "reason": "Too complex",
        "complaint": "Team found the reporting hard to use.",
        "survey": {
            "main_reason": "It was hard to set up or use",
            "could_have_done": "Simpler reports.",
            "return_likelihood": 6,
            "may_follow_up": True,
        },
        "review": None,
    },
    {
        "days_ago": 2,
        "name": "Grace Okafor",
        "email": "grace@lagos-studio.example",
        "company": "Lagos Studio",
        "plan": "Team",
        "mrr": "149.00",
        "months": 11,
        "owner": "admin@example.com",
        "reason": "Moving to an in-house tool",
        "complaint": "",
        "survey": None,
        "review": None,
    },
]


def _mark_delivered(cancellation: Cancellation) -> None:
    """History is already history: its mail counts as sent, and never reaches a real SMTP server."""
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.cancellation_id == cancellation.id, OutboxMessage.status == "queued")
    )
    for row in rows:
        row.status = "sent"
        row.sent_at = min(row.due_at + timedelta(minutes=5), utcnow())
    db.session.commit()


def _backdate(cancellation: Cancellation, days: int) -> None:
    shift = timedelta(days=days)
    cancellation.cancelled_at -= shift
    cancellation.created_at -= shift
    for event in cancellation.events:
        event.at -= shift
    if cancellation.invitation is not None:
        cancellation.invitation.created_at -= shift
        cancellation.invitation.expires_at -= shift
    for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.cancellation_id == cancellation.id)):
        row.created_at -= shift
        row.due_at -= shift
    db.session.commit()


#: When the review was written, after the cancellation (as _settle dates it).
REVIEWED_AFTER = timedelta(days=2, hours=1)
#: A review's answer to "What must change?" that asks for no item.
NO_ACTION_ITEMS = "None for this account"


def _action_items(story: dict[str, Any], owner: User) -> Callable[[Review], None]:
    """What the review page does with "What must change?": an action item per line, owned by the reviewer, due
    30 days after the review. The oldest stories' are overdue by now, as a real team's would be, so the Actions
    page, its reminders and the staff list have follow-ups to show; a story's `done` closes its first item."""

    def add(saved: Review) -> None:
        due = (saved.cancellation.cancelled_at + REVIEWED_AFTER).date() + timedelta(days=DEFAULT_DUE_DAYS)
        titles = [line.strip() for line in story["review"].get("action_items", "").splitlines()]
        items = [
            add_item(saved.cancellation, title=title, due_on=due, created_by=owner, source="review")
            for title in titles
            if title and title != NO_ACTION_ITEMS
        ]
        if items and story.get("done"):
            close_item(items[0], "done", story["done"], by=owner)

    return add


def _settle(cancellation: Cancellation, started: datetime) -> None:
    """What the demo just did 'now' happened a day or two after the cancellation, as it would have."""
    db.session.refresh(cancellation)
    answered = cancellation.cancelled_at + timedelta(days=1, hours=3)
    reviewed = cancellation.cancelled_at + REVIEWED_AFTER
    invitation = cancellation.invitation
    if invitation is not None and invitation.answered_at is not None and invitation.response is not None:
        invitation.answered_at = invitation.response.submitted_at = answered
    if cancellation.review is not None:
        cancellation.review.submitted_at = reviewed
    if cancellation.summary is not None:
        cancellation.summary.created_at = max(answered, reviewed)
    closed = reviewed + timedelta(days=20)
    items = select(ActionItem).where(ActionItem.cancellation_id == cancellation.id)
    for item in db.session.scalars(items):
        item.created_at = reviewed
        if item.closed_at is not None:
            item.closed_at = closed
    for event in cancellation.events:
        if event.at >= started:
            event.at = {"answered": answered, "reviewed": reviewed, "action_closed": closed}.get(
                event.kind, max(answered, reviewed)
            )
    new_mail = select(OutboxMessage).where(
        OutboxMessage.cancellation_id == cancellation.id, OutboxMessage.created_at >= started
    )
    for row in db.session.scalars(new_mail):
        row.created_at = row.due_at = max(answered, reviewed)
    db.session.commit()


@click.command("demo")
@click.option("--bulk", type=click.IntRange(min=1), help="Instead, add N generated cancellations over two years.")
@click.option("--force", is_flag=True, help="With --bulk: even on a database that holds real postmortems.")
@with_appcontext
def demo(bulk: int | None, force: bool) -> None:
    """Load demo staff and cancellations (once; later runs change nothing)."""
    if bulk:
        load_bulk(bulk, force=force)
        return
    if find_staff(STAFF[0][0]) is not None:
        click.echo("Demo data is already loaded.")
        return
    for email, name, role in STAFF:
        user = User(email=email, name=name, role=role)
        user.set_password(PASSWORD)
        db.session.add(user)
    # Someone who has left the team: listed on the staff page, unable to log in.
    db.session.add(User(email="lena@example.com", name="Lena Fischer", role="owner", active=False))
    db.session.commit()
    admin = find_staff(STAFF[0][0])
    save_settings(COMPANY, updated_by_id=admin.id if admin else None)

    today = utcnow().date()
    history = []
    for story in STORIES:
        cancellation = log_cancellation(
            NewCancellation(
                customer_name=story["name"],
                customer_email=story["email"],
                owner_email=story["owner"],
                company=story["company"],
                plan=story["plan"],
                mrr=Decimal(story["mrr"]),
                customer_since=today - timedelta(days=30 * story["months"] + story["days_ago"]),
                reason=story["reason"],
                complaint=story["complaint"],
                source="demo",
                locale=story.get("locale"),
            )
        )
        _backdate(cancellation, story["days_ago"])
        if story["days_ago"] > 2:
            _mark_delivered(cancellation)
            history.append(cancellation)
        started = utcnow()
        if story["survey"]:
            submit_survey(cancellation.invitation, story["survey"], "demo")
        if story["review"]:
            owner = find_staff(story["owner"])
            assert owner is not None
            then = _action_items(story, owner)
            submit_review(cancellation, owner, story["review"], review_version(cancellation).id, then=then)
        if story["days_ago"] > 2:
            _settle(cancellation, started)
        db.session.commit()
    expire_overdue_invitations()  # the oldest unanswered link has lapsed: its summary goes with the review alone
    for cancellation in history:
        _mark_delivered(cancellation)
    click.echo(f"Loaded {len(STAFF)} staff and {len(STORIES)} cancellations. Log in as {STAFF[0][0]} / {PASSWORD}.")
