"""Outbound events: what happened, told to other systems (signed webhooks, Slack, Microsoft Teams, polling).

Features call `emit` inside their own transaction, as they call the outbox's `enqueue`: the event row and one
delivery row per matching endpoint commit with the change that caused them, or not at all. The worker delivers
them (`delivery.deliver_due`). Like the outbox, this package knows no feature: payloads arrive as data.
"""
