"""Billing systems' subscription lifecycles, vendor-neutral: a cancellation scheduled, undone, ended.

A vendor's handler (Stripe's in feedback.webhooks) turns its events into `BillingEvent`s and calls
`schedule`, `stay` or `end`; each event's own time decides the order, so late and repeated deliveries end in
the state the newest event says. Paddle, Chargebee and others plug in the same way.
"""
