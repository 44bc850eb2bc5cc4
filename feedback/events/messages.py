"""Slack (Block Kit, built with slack_sdk's block models) and Microsoft Teams (an Adaptive Card) messages.

Each event is told in one line a person reads in a channel, with a link to the page that says the rest:
"Lost Acme Ltd, €490 MRR: too expensive; avoidable: yes; owner Priya".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from feedback.formatting import format_money

#: Slack's limit for a section's text is 3,000 characters; a reply is cut well before.
QUOTE_LENGTH = 600


def headline(event_type: str, data: dict[str, Any], answers: Any) -> tuple[str, str, str]:
    """(what happened, more detail or "", the link's label): the words both Slack and Teams show."""
    who = _who(data)
    if event_type == "summary.sent":
        parts = [f"Lost {who}{_mrr(data)}"]
        reason = data.get("main_reason") or data.get("reason")
        details = [str(reason).rstrip(".").lower()] if reason else []
        if data.get("avoidable"):
            details.append(f"avoidable: {str(data['avoidable']).lower()}")
        if data.get("owner"):
            details.append(f"owner {data['owner']['name']}")
        line = parts[0] + (": " + "; ".join(details) if details else "")
        return line, "", "Read the summary"
    if event_type == "action_item.overdue":
        item = data.get("action_item", {})
        owner = f" ({item['owner']['name']})" if item.get("owner") else ""
        return f"Overdue: {item.get('title', 'an action item')}{owner}", f"Due {item.get('due_on', '')}", "Open it"
    if event_type == "customer.replied":
        quote = ""
        if answers:
            text = str(answers.get("text", "") if isinstance(answers, dict) else answers).strip()
            quote = text if len(text) <= QUOTE_LENGTH else text[: QUOTE_LENGTH - 1] + "…"
        return f"{who} replied about their cancellation", quote, "Read the reply"
    if event_type == "cancellation.stayed":
        billing = f" in {data['billing']}" if data.get("billing") else ""
        kept = _mrr(data).replace(" MRR", " MRR kept")
        return f"{who} stayed after all{kept}", f"They undid their cancellation{billing}.", "Open the cancellation"
    return f"{event_type}: {who}", "", "Open in Farewell"


def _who(data: dict[str, Any]) -> str:
    customer = data.get("customer") or {}
    return customer.get("company") or customer.get("name") or f"cancellation {data.get('cancellation_id', '')}".strip()


def _mrr(data: dict[str, Any]) -> str:
    try:
        amount = Decimal(str(data.get("mrr")))
    except (InvalidOperation, ValueError):
        return ""
    money = format_money(amount, data.get("currency") or "EUR")
    return f", {money.removesuffix('.00')} MRR"


def _link(data: dict[str, Any]) -> str:
    links = data.get("links") or {}
    return links.get("summary") or links.get("action_item") or links.get("reply") or links.get("cancellation") or ""


def _escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup: a customer's words must not make links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event_type: str, data: dict[str, Any], answers: Any) -> dict[str, Any]:
    """An incoming webhook's body: `text` for notifications, the blocks for the channel."""
    line, detail, label = headline(event_type, data, answers)
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=f"*{_escape(line)}*"))]
    if detail:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_escape(detail))]))
    if url := _link(data):
        blocks.append(ActionsBlock(elements=[ButtonElement(text=label, url=url, action_id="open")]))
    return {"text": line, "blocks": [block.to_dict() for block in blocks]}


def teams_message(event_type: str, data: dict[str, Any], answers: Any) -> dict[str, Any]:
    """A Workflows webhook's body: one Adaptive Card (1.4) in the message envelope that "Post to a channel" reads."""
    line, detail, label = headline(event_type, data, answers)
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": line, "weight": "Bolder", "wrap": True}]
    if detail:
        body.append({"type": "TextBlock", "text": detail, "wrap": True, "isSubtle": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if url := _link(data):
        card["actions"] = [{"type": "Action.OpenUrl", "title": label, "url": url}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}
