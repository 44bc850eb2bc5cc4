"""Periodic jobs: reminders about items coming due or overdue, and each person's weekly digest.

Each is a plain function of the time it runs at (tests inject it). "Once" is the database's: the reminder's or the
digest's row goes in under its unique key before the email is queued, in the same transaction, so a second run, or a
second worker, finds the row and queues nothing. Each commits item by item, keeping its locks short.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from feedback.actions.models import ActionDigest, ActionItem, ActionReminder
from feedback.actions.operations import announce_item
from feedback.auth.models import User
from feedback.extensions import db
from feedback.jobs import periodic
from feedback.mail.models import OutboxMessage
from feedback.mail.outbox import enqueue
from feedback.settings.operations import current_settings
from feedback.urls import external_url

#: Days before the due date that the first reminder goes.
DUE_SOON_DAYS = 2
#: Digests go out from this time on Mondays (UTC); a worker that was down then sends them later that week.
DIGEST_HOUR = 7

#: (user, today) -> more digest sections; the win-back feature adds "shall we tell them?" this way.
DigestExtra = Callable[[User, date], dict[str, Any]]
_HOOKS = "farewell.actions"


def digest_extra_from(app: Flask, extra: DigestExtra) -> None:
    app.extensions.setdefault(_HOOKS, []).append(extra)


def _once(row: ActionReminder | ActionDigest) -> bool:
    """Inserts the row under its unique key; False when it was there already (this run is the second).

    Each job commits item by item, so rolling back a refusal undoes nothing but the refused row.
    """
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


@periodic("actions.reminders", every=timedelta(minutes=15))
def remind_due_items(now: datetime) -> str:
    """Reminds owners two days before an item is due, and once on the day it becomes overdue."""
    today = now.date()
    due_soon = select(ActionItem).where(
        ActionItem.status == "open",
        ActionItem.due_on >= today,
        ActionItem.due_on <= today + timedelta(days=DUE_SOON_DAYS),
    )
    overdue = select(ActionItem).where(ActionItem.status == "open", ActionItem.due_on < today)
    sent = 0
    for kind, query in (("due_soon", due_soon), ("overdue", overdue)):
        already = select(ActionReminder.id).where(
            ActionReminder.action_item_id == ActionItem.id,
            ActionReminder.kind == kind,
            ActionReminder.due_on == ActionItem.due_on,
        )
        ids = list(db.session.scalars(query.where(~already.exists()).with_only_columns(ActionItem.id)))
        for item_id in ids:
            sent += _remind(item_id, kind, today)
            db.session.commit()
    return "" if not sent else f"{sent} action item reminder{'s' if sent != 1 else ''} queued"


def _remind(item_id: int, kind: str, today: date) -> int:
    item = db.session.get(ActionItem, item_id)
    if item is None or not item.is_open or item.due_on is None:
        return 0
    reminder = ActionReminder(action_item_id=item.id, kind=kind, due_on=item.due_on)
    if not _once(reminder):
        return 0
    days = (item.due_on - today).days
    if kind == "overdue":
        subject = f"Overdue: {item.title}"
    elif days == 0:
        subject = f"Due today: {item.title}"
    else:
        subject = f"Due in {days} day{'s' if days != 1 else ''}: {item.title}"
    message = enqueue(
        "action_reminder",
        to=item.owner.email,
        to_name=item.owner.name,
        subject=subject,
        template="action_reminder",
        item=item,
        reminder_kind=kind,
        days=days,
        item_url=external_url("cancellations.detail", cancellation_id=item.cancellation_id, _anchor="actions"),
        list_url=external_url("actions.index", owner="me"),
        company=current_settings().company_name,
    )
    reminder.outbox_message_id = message.id
    db.session.flush()
    if kind == "overdue":
        announce_item("action_item.overdue", item)
    return 1


def reminder_obsolete(message: OutboxMessage, connection: Connection) -> str:
    """Registered with mail: a reminder whose item was closed meanwhile stays unsent."""
    status = connection.execute(
        text(
            "SELECT action_items.status FROM action_reminders JOIN action_items "
            "ON action_items.id = action_reminders.action_item_id WHERE action_reminders.outbox_message_id = :id"
        ),
        {"id": message.id},
    ).scalar()
    if status is not None and status != "open":
        return "Not sent: the action item was closed before its reminder went."
    return ""


def week_of(now: datetime) -> date:
    """The Monday that starts `now`'s week."""
    return now.date() - timedelta(days=now.weekday())


@periodic("actions.open-items-digest", every=timedelta(hours=1))
def send_weekly_digests(now: datetime) -> str:
    """Emails each person their open and overdue action items from Monday 07:00 UTC; once a week, none if nothing."""
    monday = week_of(now)
    if now < datetime.combine(monday, time(DIGEST_HOUR), tzinfo=now.tzinfo):
        return ""
    staff = list(db.session.scalars(select(User.id).where(User.active).order_by(User.id)))
    sent = 0
    for user_id in staff:
        sent += _digest(user_id, monday, now.date())
        db.session.commit()
    return "" if not sent else f"{sent} weekly digest{'s' if sent != 1 else ''} queued"


def _digest(user_id: int, monday: date, today: date) -> int:
    user = db.session.get(User, user_id)
    if user is None:
        return 0
    if db.session.scalar(
        select(ActionDigest.id).where(ActionDigest.user_id == user_id, ActionDigest.week_of == monday)
    ):
        return 0
    items = list(
        db.session.scalars(
            select(ActionItem)
            .options(joinedload(ActionItem.cancellation))
            .where(ActionItem.owner_id == user_id, ActionItem.status == "open")
            .order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id)
        )
    )
    extras: dict[str, Any] = {}
    for extra in current_app.extensions.get(_HOOKS, []):
        extras.update(extra(user, today))
    if not items and not any(extras.values()):
        return 0
    digest = ActionDigest(user_id=user.id, week_of=monday)
    if not _once(digest):
        return 0
    overdue = [item for item in items if item.overdue_on(today)]
    message = enqueue(
        "action_digest",
        to=user.email,
        to_name=user.name,
        subject=_digest_subject(len(items), len(overdue), extras),
        template="action_digest",
        user=user,
        overdue=overdue,
        upcoming=[item for item in items if not item.overdue_on(today)],
        today=today,
        list_url=external_url("actions.index", owner="me"),
        company=current_settings().company_name,
        **extras,
    )
    digest.outbox_message_id = message.id
    db.session.flush()
    return 1


def _digest_subject(open_count: int, overdue_count: int, extras: dict[str, Any]) -> str:
    parts = []
    if open_count:
        parts.append(f"{open_count} open action item{'s' if open_count != 1 else ''}")
    if overdue_count:
        parts.append(f"{overdue_count} overdue")
    asks = len(extras.get("winback_asks") or [])
    if asks:
        parts.append(f"{asks} customer{'s' if asks != 1 else ''} to tell")
    return "Your week: " + ", ".join(parts)
