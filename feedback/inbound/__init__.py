"""Answer by replying: a customer's email reply (or a bounce) becomes part of the postmortem."""
