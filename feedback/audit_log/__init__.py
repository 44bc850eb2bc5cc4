"""The audit trail's page for admins: read-only, filtered and paged."""
