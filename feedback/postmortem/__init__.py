"""A postmortem's life in one place: its records, states, timeline, and when its summary is due.

Features (surveys, reviews, summaries, cancellations, the ways in) call down into this package; it calls down
into mail and the core, never up. What it must have a feature do (compose the summary once it is due) is a hook
that the feature registers at start-up: see `workflow.when_summary_due`.
"""
