"""The email log for admins, and the local mailbox that stands in for SMTP in development."""
