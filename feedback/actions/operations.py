"""Writing action items: one function per write, shared by the review form, the postmortem page and the API.

Each flushes and never commits; the request, command or job that called it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload

from feedback import audit
from feedback.actions.models import STATUS_LABELS, STATUSES, ActionItem
from feedback.auth.models import User
from feedback.db import utcnow
from feedback.extensions import db
from feedback.inputs.text import CONTROLS, ONE_LINE, multi_line
from feedback.postmortem.models import Cancellation
from feedback.postmortem.outbound import announce
from feedback.questions.defaults import MAIN_REASONS
from feedback.questions.operations import live_version
from feedback.urls import external_url

#: When an item is added without a due date of its own.
DEFAULT_DUE_DAYS = 30
TITLE_MAX = 300
NOTE_MAX = 2000
TICKET_MAX = 500
#: Fields a PATCH (or the edit form) may change.
EDITABLE = ("title", "owner_email", "due_on", "status", "note", "ticket_url", "reason")


class InvalidActionItem(ValueError):
    """A message per field, so the form, the review and the API each say what is wrong in their own words."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def default_due(today: date | None = None) -> date:
    return (today or utcnow().date()) + timedelta(days=DEFAULT_DUE_DAYS)


def customer_reasons() -> list[str]:
    """The reasons an item can address: the choices of the live exit survey's first single-choice question."""
    for question in live_version("exit-survey").questions:
        if question.type == "single_choice":
            return list(question.choices)
    return list(MAIN_REASONS)


def active_staff() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active).order_by(User.name)))


@dataclass
class ItemFields:
    title: str
    owner: User
    due_on: date | None
    ticket_url: str | None
    reason: str


def check_item(values: dict[str, Any], current: ActionItem | None = None) -> dict[str, Any]:
    """Tidies the values given; raises InvalidActionItem naming every problem at once."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name in ("title", "owner_email", "note", "ticket_url", "reason"):
        value = values.get(name)
        if name in values and value is not None and not isinstance(value, str):
            errors[name] = "Must be a string."
            values = {k: v for k, v in values.items() if k != name}
        elif isinstance(value, str) and name != "note" and CONTROLS.search(value):
            errors[name] = ONE_LINE
            values = {k: v for k, v in values.items() if k != name}
    if "title" in values:
        title = " ".join(str(values["title"] or "").split())
        if not title:
            errors["title"] = "Say what must change, in a few words."
        elif len(title) > TITLE_MAX:
            errors["title"] = f"Keep the title under {TITLE_MAX} characters; details go in the ticket."
        cleaned["title"] = title
    if "owner_email" in values:
        email = str(values["owner_email"] or "").strip().lower()
        owner = db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
        if owner is None or not owner.active:
            errors["owner_email"] = "Choose an active staff member as the owner."
        cleaned["owner"] = owner
    if "due_on" in values:
        due = values["due_on"]
        if isinstance(due, str):
            try:
                due = date.fromisoformat(due) if due else None
            except ValueError:
                errors["due_on"] = "Give the due date as YYYY-MM-DD."
                due = None
        if due is not None and (not isinstance(due, date) or isinstance(due, datetime)):
            errors["due_on"] = "Give the due date as YYYY-MM-DD."
        elif due is not None and not date(2000, 1, 1) <= due <= date(2999, 12, 31):
            errors["due_on"] = "Give a due date between 2000 and 2999."
        cleaned["due_on"] = due
    if "status" in values:
        if not isinstance(values["status"], str) or values["status"] not in STATUSES:
            errors["status"] = f"One of {', '.join(STATUSES)}."
        cleaned["status"] = values["status"]
    if "note" in values:
        note = multi_line(str(values["note"] or "")).strip()
        if len(note) > NOTE_MAX:
            errors["note"] = f"Keep the note under {NOTE_MAX} characters."
        cleaned["note"] = note
    if "ticket_url" in values:
        url = str(values["ticket_url"] or "").strip()
        if url and (not url.startswith("https://") or len(url) <= len("https://") or any(c.isspace() for c in url)):
            errors["ticket_url"] = "Link the ticket with an https:// address, or leave it empty."
        elif len(url) > TICKET_MAX:
            errors["ticket_url"] = f"Keep the link under {TICKET_MAX} characters."
        cleaned["ticket_url"] = url or None
    if "reason" in values:
        reason = str(values["reason"] or "").strip()
        if reason and reason not in customer_reasons() and (current is None or reason != current.reason):
            errors["reason"] = "Choose one of the exit survey's reasons, or none."
        cleaned["reason"] = reason
    if errors:
        raise InvalidActionItem(errors)
    return cleaned


def add_item(
    cancellation: Cancellation,
    *,
    title: str,
    owner_email: str | None = None,
    due_on: date | str | None = None,
    ticket_url: str | None = None,
    reason: str = "",
    created_by: User | None = None,
    source: str = "page",
) -> ActionItem:
    """Adds an open item to the postmortem: owned by the postmortem's owner unless another is named. Flushes."""
    cleaned = check_item(
        {
            "title": title,
            "owner_email": owner_email or cancellation.owner.email,
            "due_on": due_on,
            "ticket_url": ticket_url,
            "reason": reason,
        }
    )
    item = ActionItem(
        cancellation=cancellation,
        title=cleaned["title"],
        owner=cleaned["owner"],
        due_on=cleaned["due_on"],
        ticket_url=cleaned["ticket_url"],
        reason=cleaned["reason"],
        source=source,
        status="open",
        note="",
        created_by_id=created_by.id if created_by else None,
        created_at=utcnow(),
    )
    db.session.add(item)
    due = f", due {item.due_on:%-d %b %Y}" if item.due_on else ""
    cancellation.record("action_added", f"Action item for {item.owner.name}{due}: {item.title}")
    db.session.flush()
    announce_item("action_item.created", item)
    audit.record(
        "action_item.add", item, f"On cancellation {cancellation.id}, for {item.owner.email}.", actor=created_by
    )
    return item


def update_item(item: ActionItem, changes: dict[str, Any], by: User | None = None) -> ActionItem:
    """Changes what `changes` names (see EDITABLE): closing sets who and when, reopening clears them. Flushes."""
    unknown = {name: "This field cannot be changed." for name in changes if name not in EDITABLE}
    if unknown:
        raise InvalidActionItem(unknown)
    cleaned = check_item(changes, current=item)
    changed = [name for name in ("title", "due_on", "note", "ticket_url", "reason") if name in cleaned
               and getattr(item, name) != cleaned[name]]  # fmt: skip
    for name in ("title", "due_on", "note", "ticket_url", "reason"):
        if name in cleaned:
            setattr(item, name, cleaned[name])
    if "owner" in cleaned and cleaned["owner"].id != item.owner_id:
        changed.append(f"owner to {cleaned['owner'].email}")
        item.owner = cleaned["owner"]
        item.cancellation.record("action_reassigned", f"{item.title} is now {item.owner.name}'s.")
    status = cleaned.get("status", item.status)
    status_changed = status != item.status
    if status_changed:
        cancellation = item.cancellation  # loaded before the item changes: the check constraint sees both together
        who = f" by {by.name}" if by else ""
        was_open = item.is_open
        item.status = status
        if status == "open":
            item.closed_at = None
            item.closed_by_id = None
            cancellation.record("action_reopened", f"Action item reopened{who}: {item.title}")
        else:
            if was_open:
                item.closed_at = utcnow()
                item.closed_by_id = by.id if by else None
            note = f" ({item.note})" if item.note else ""
            cancellation.record("action_closed", f"{STATUS_LABELS[status]}{who}: {item.title}{note}")
            if was_open:
                db.session.flush()
                announce_item("action_item.closed", item, closed_by={"id": by.id, "name": by.name} if by else None)
    db.session.flush()
    _audit_change(item, status_changed, changed, by)
    return item


def announce_item(event_type: str, item: ActionItem, **facts: Any) -> None:
    """An outbound event about an action item: created, overdue or closed."""
    owner = item.owner
    described = {
        "id": item.id,
        "title": item.title,
        "status": item.status,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "reason": item.reason,
        "ticket_url": item.ticket_url,
        "owner": {"id": owner.id, "name": owner.name, "email": owner.email},
    }
    link = external_url("cancellations.detail", cancellation_id=item.cancellation_id, _anchor="actions")
    links = {"action_item": link}
    announce(event_type, item.cancellation, links=links, action_item_id=item.id, action_item=described, **facts)


def _audit_change(item: ActionItem, status_changed: bool, changed: list[str], by: User | None) -> None:
    """One row per change, named by what it did; the title and note stay out (they may quote the customer)."""
    if status_changed:
        action = "action_item.reopen" if item.status == "open" else "action_item.close"
        detail = f"Now {STATUS_LABELS[item.status].lower()}." + (f" Changed {', '.join(changed)}." if changed else "")
    elif changed:
        action, detail = "action_item.update", f"Changed {', '.join(changed)}."
    else:
        return
    audit.record(action, item, detail, actor=by)


def close_item(item: ActionItem, status: str, note: str = "", by: User | None = None) -> ActionItem:
    """Done or not doing, with an optional note."""
    if status == "open":
        raise InvalidActionItem({"status": "Close an item as done or not_doing."})
    changes: dict[str, Any] = {"status": status}
    if note.strip():
        changes["note"] = note
    return update_item(item, changes, by)


def reopen_item(item: ActionItem, by: User | None = None) -> ActionItem:
    return update_item(item, {"status": "open"}, by)


def may_change(user: Any, item: ActionItem) -> bool:
    """The item's owner, the postmortem's owner, or an admin."""
    return bool(
        user.is_authenticated
        and user.active
        and (user.is_admin or user.id in (item.owner_id, item.cancellation.owner_id))
    )


def open_items_owned_by(user: User) -> list[ActionItem]:
    """Every open item `user` owns, on any postmortem: items outlive the summary, so most sit on finished ones."""
    query = select(ActionItem).options(joinedload(ActionItem.cancellation))
    query = query.where(ActionItem.owner_id == user.id, ActionItem.status == "open")
    return list(db.session.scalars(query.order_by(ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id)))


def hand_over_items(from_user: User, to_user: User, by: User) -> int:
    """Gives `from_user`'s open items to `to_user`, each as an owner change through update_item (the postmortem
    records it, and the reminders follow the new owner). Closed items stay with whoever closed them."""
    items = open_items_owned_by(from_user)
    for item in items:
        update_item(item, {"owner_email": to_user.email}, by=by)
    return len(items)


def items_of(cancellation: Cancellation) -> list[ActionItem]:
    """Open first (soonest due first, undated last), then closed, newest closing first."""
    return list(
        db.session.scalars(
            select(ActionItem)
            .options(joinedload(ActionItem.owner))
            .where(ActionItem.cancellation_id == cancellation.id)
            .order_by(
                case((ActionItem.status == "open", 0), else_=1),
                ActionItem.due_on.is_(None),
                ActionItem.due_on,
                ActionItem.closed_at.desc(),
                ActionItem.id,
            )
        ).unique()
    )


def listed_items(
    *,
    owner_id: int | None = None,
    status: str = "",
    overdue: bool = False,
    reason: str = "",
    today: date,
    first_for: int | None = None,
) -> Select[tuple[ActionItem]]:
    """The /actions and API list: filtered, sorted by due date (undated last); `first_for`'s own items first."""
    query = select(ActionItem).options(joinedload(ActionItem.owner), joinedload(ActionItem.cancellation))
    if owner_id is not None:
        query = query.where(ActionItem.owner_id == owner_id)
    if status:
        query = query.where(ActionItem.status == status)
    if overdue:
        query = query.where(ActionItem.status == "open", ActionItem.due_on < today)
    if reason:
        query = query.where(ActionItem.reason == reason)
    order: list[Any] = []
    if first_for is not None:
        order.append(case((ActionItem.owner_id == first_for, 0), else_=1))
    order += [case((ActionItem.status == "open", 0), else_=1), ActionItem.due_on.is_(None), ActionItem.due_on]
    return query.order_by(*order, ActionItem.id)


def counts_for(user_id: int, today: date) -> dict[str, int]:
    """A person's open and overdue items, for the list's heading."""
    mine = (
        select(func.count()).select_from(ActionItem).where(ActionItem.owner_id == user_id, ActionItem.status == "open")
    )
    return {
        "open": db.session.scalar(mine) or 0,
        "overdue": db.session.scalar(mine.where(ActionItem.due_on < today)) or 0,
    }


def today_utc(now: datetime | None = None) -> date:
    return (now or utcnow()).date()
