"""Field rules that more than one kind of input shares: an email address Farewell can write to."""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email


@lru_cache(maxsize=8192)  # a pure function of the text, and a CSV import checks the same owners' addresses often
def normalize_email(address: str) -> str:
    """Raises ValueError with a readable message for anything that is not a mailbox Farewell can write to.

    The address is kept in its ASCII form (an international domain in punycode), the form every mail header and
    SMTP server takes; one with letters beyond ASCII before the @ would need SMTPUTF8 end to end, which the email
    headers Farewell builds cannot carry, so it is refused here rather than failing when its email is queued.
    """
    try:
        checked = validate_email(
            address.strip(), check_deliverability=False, test_environment=True, allow_smtputf8=False
        )
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return checked.ascii_email.lower()
