"""The words of the timeline: where a cancellation came from and what each email is called.

`EMAIL_LABELS` is the only copy: each outbox row carries its label (`timeline_label`), and the database trigger
that writes "<label> sent to <address>." when a message is marked sent reads it from there (migration 0008).
"""

from __future__ import annotations

SOURCE_LABELS = {
    "web": "web form",
    "cli": "command line",
    "api": "API",
    "webhook": "webhook",
    "demo": "demo data",
    "stripe": "Stripe webhook",
    "paddle": "Paddle webhook",
    "chargebee": "Chargebee webhook",
    "csv": "CSV import",
}

#: Who reported a departure again, as "Also reported by …" says it on the timeline of the postmortem it joined.
REPORTER_LABELS = {
    "web": "a colleague on the web form",
    "cli": "the command line",
    "api": "the API",
    "webhook": "a webhook",
    "stripe": "Stripe",
    "paddle": "Paddle",
    "chargebee": "Chargebee",
    "csv": "a CSV import",
}

EMAIL_LABELS = {
    "survey_invitation": "Exit survey invitation",
    "survey_reminder": "Survey reminder",
    "review_request": "Review request",
    "summary": "Summary",
    "winback_notice": "“We changed this” email",
    "customer_reply": "Customer's reply (forwarded)",
    "customer_stayed": "“They stayed” email",
    "invitation_bounced": "“Their address bounced” email",
}


def email_label(kind: str) -> str:
    """How the timeline names an email of this kind; a kind without a label of its own is just 'Email'."""
    return EMAIL_LABELS.get(kind, "Email")
