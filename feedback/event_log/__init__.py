"""Managing outbound webhooks: Admin → Webhooks and `flask webhooks` (endpoints, their attempts, Replay).

The events themselves, and their delivery, are feedback.events, which knows no feature; this package is where
staff act on them, so each action is in the audit trail.
"""
