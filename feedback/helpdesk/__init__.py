"""The customer's help-desk history inside the postmortem (issue 26).

Logging a cancellation queues a `HelpdeskFetch`; the `helpdesk.fetch` job reads the customer's conversations from
the configured help desk (Zendesk, Freshdesk, Help Scout, HelpSpot: one small client each) and keeps what the
review needs, at most `MAX_KEPT` per customer, as `Conversation` rows. Any other help desk puts them through the API.
"""
