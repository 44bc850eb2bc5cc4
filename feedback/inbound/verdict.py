"""The receiving server's verdict on a message: did SPF, DKIM or DMARC vouch for the domain in its `From:`?

`From:` is whatever the sender typed. Only the server that took the message from the internet knows more, and it
says so in an `Authentication-Results` header (RFC 8601) headed by its authserv-id (INBOUND_AUTHSERV_ID), or, for
Mailgun, in the route's SPF/DKIM fields. Any other `Authentication-Results` a message carries was written by its
sender, and is not read. The header is parsed with `authres`, the RFC 8601 parser.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import authres

#: pass: DMARC passed, or SPF or DKIM passed for the From: domain; fail: the server's verdict does not vouch for
#: it (or, with INBOUND_AUTHSERV_ID set, there is none); unchecked: nothing to read a verdict from is configured.
OUTCOMES = ("pass", "fail", "unchecked")
#: Longer Authentication-Results values are not parsed: a real one is a few hundred characters.
MAX_HEADER_CHARS = 4000
#: The d= of a DKIM-Signature header (for Mailgun, which says only that DKIM passed, not for which domain).
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([A-Za-z0-9.-]{1,253})\s*(?:;|$)")


@dataclass(frozen=True)
class Verdict:
    outcome: str
    #: Who said it: "Authentication-Results from mx.example.com", "Mailgun", or "".
    source: str = ""
    spf: str = ""
    dkim: str = ""
    dmarc: str = ""
    #: In words, for the admin's and the owner's pages.
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment, without a public-suffix list: the same domain, or one a subdomain of the other."""
    domain, from_domain = domain.strip().lower().rstrip("."), from_domain.strip().lower().rstrip(".")
    if not domain or not from_domain:
        return False
    return domain == from_domain or domain.endswith("." + from_domain) or from_domain.endswith("." + domain)


def _domain_of(value: str) -> str:
    return value.rpartition("@")[2].strip().lower()


def from_authentication_results(headers: list[str], authserv_id: str, from_domain: str) -> Verdict:
    """The verdict in the topmost Authentication-Results header our server wrote (the last one it added)."""
    for value in headers:
        # Only a header that names our server before its first ";" is parsed (the sender writes the others), and
        # only the topmost: our server adds it above whatever the message brought, so one below is not ours.
        if len(value) > MAX_HEADER_CHARS or authserv_id not in value.partition(";")[0].lower():
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except Exception:  # noqa: BLE001 - authres raises its own errors and others on garbage: no verdict
            break
        if (parsed.authserv_id or "").lower() == authserv_id:
            return _judge(parsed.results, f"Authentication-Results from {authserv_id}", from_domain)
    return Verdict(
        "fail",
        detail=f"No Authentication-Results from {authserv_id} (INBOUND_AUTHSERV_ID): nothing vouches for its From:.",
    )


def _judge(results: list[Any], source: str, from_domain: str) -> Verdict:
    by_method: dict[str, list[Any]] = {}
    for result in results:
        by_method.setdefault(str(result.method).lower(), []).append(result)

    def first(method: str) -> str:
        return str(by_method[method][0].result).lower() if method in by_method else "none"

    spf, dkim, dmarc = first("spf"), first("dkim"), first("dmarc")
    if dmarc == "pass":
        return Verdict("pass", source, spf, dkim, dmarc, f"DMARC passed for {from_domain}.")
    if dmarc == "fail":
        return Verdict("fail", source, spf, dkim, dmarc, f"DMARC failed for {from_domain}.")
    for result in by_method.get("dkim", []):
        domain = _property(result, "header", "d") or _domain_of(_property(result, "header", "i"))
        if str(result.result).lower() == "pass" and aligned(domain, from_domain):
            return Verdict("pass", source, spf, dkim, dmarc, f"DKIM passed for {domain}, the From: domain's.")
    for result in by_method.get("spf", []):
        domain = _domain_of(_property(result, "smtp", "mailfrom")) or _property(result, "smtp", "helo")
        if str(result.result).lower() == "pass" and aligned(domain, from_domain):
            return Verdict("pass", source, spf, dkim, dmarc, f"SPF passed for {domain}, the From: domain's.")
    return Verdict(
        "fail", source, spf, dkim, dmarc, f"Neither SPF nor DKIM passed for {from_domain or 'its From: domain'}."
    )


def _property(result: Any, kind: str, name: str) -> str:
    for prop in result.properties or []:
        if str(prop.type).lower() == kind and str(prop.name).lower() == name:
            return str(prop.value or "")
    return ""


def from_mailgun(fields: dict[str, str], dkim_signatures: list[str], from_domain: str) -> Verdict:
    """Mailgun's route fields: X-Mailgun-Spf (for the envelope sender, `sender`) and X-Mailgun-Dkim-Check-Result
    (for the message's DKIM signatures, whose d= the message itself names)."""
    spf = fields.get("spf", "").strip().lower() or "none"
    dkim = fields.get("dkim", "").strip().lower() or "none"
    sender_domain = _domain_of(fields.get("sender", ""))
    if dkim == "pass":
        for signature in dkim_signatures[:10]:
            domain = _DKIM_DOMAIN.search(signature)
            if domain and aligned(domain.group(1), from_domain):
                said = f"DKIM passed for {domain.group(1)}, the From: domain's."
                return Verdict("pass", "Mailgun", spf, dkim, "", said)
    if spf == "pass" and aligned(sender_domain, from_domain):
        return Verdict("pass", "Mailgun", spf, dkim, "", f"SPF passed for {sender_domain}, the From: domain's.")
    return Verdict("fail", "Mailgun", spf, dkim, "", f"Neither SPF nor DKIM passed for {from_domain or 'its From:'}.")


def judge(
    from_address: str,
    authentication_results: list[str],
    dkim_signatures: list[str],
    authserv_id: str,
    mailgun: dict[str, str] | None,
) -> Verdict:
    """The verdict on one message: Mailgun's fields when it came that way, else our server's header, else none."""
    from_domain = _domain_of(from_address)
    if mailgun is not None:
        return from_mailgun(mailgun, dkim_signatures, from_domain)
    if authserv_id:
        return from_authentication_results(authentication_results, authserv_id, from_domain)
    return Verdict("unchecked", detail="Not checked: INBOUND_AUTHSERV_ID is not set, so no server's verdict is read.")
