"""The audit trail: who changed what, when, on which record, from where. Rows are only ever added.

Sits just above the core so that every feature can call `record(...)`; it imports no feature. Staff read the
trail at /admin/audit (feedback.audit_log); nothing in the app edits or deletes a row, except an erasure, which
blanks the erased person's details out of the rows that named them (see feedback.privacy).
"""

from feedback.audit.trail import record

__all__ = ["record"]
