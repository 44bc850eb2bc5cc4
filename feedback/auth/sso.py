"""OpenID Connect sign-in: the authorization code flow with PKCE, `state` and `nonce`, and an ID token whose
signature, issuer, audience and expiry are checked against the provider's JWKS (refetched for an unknown key id).

The provider is called inside the sign-in request (discovery, token, keys): the person is waiting for exactly that
answer, so there is nothing for a queue to do; every call has a timeout and a failure is a kind page, not a 500.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from flask import current_app, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

PENDING = "oidc"
TIMEOUT = httpx.Timeout(10.0)
#: How long discovery and keys are kept in this process before they are fetched again.
CACHE_SECONDS = 3600
#: Seconds of clock difference allowed between us and the provider.
LEEWAY = 60

_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_keys: dict[str, tuple[float, KeySet]] = {}


class SignInRefused(Exception):
    """Why this sign-in cannot go on, in words for the login page."""


@dataclass(frozen=True)
class Identity:
    email: str
    name: str
    claims: dict[str, Any]


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SignInRefused(f"The sign-in provider did not answer properly ({type(error).__name__}).") from None
    if not isinstance(body, dict):
        raise SignInRefused("The sign-in provider's answer was not a JSON object.")
    return body


def discovery() -> dict[str, Any]:
    """The provider's /.well-known/openid-configuration, whose issuer must be OIDC_ISSUER exactly."""
    issuer = current_app.config["OIDC_ISSUER"]
    cached = _discovery.get(issuer)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = _get_json(issuer + "/.well-known/openid-configuration")
    if not isinstance(document.get("issuer"), str) or document["issuer"].rstrip("/") != issuer:  # Authentik ends in /
        raise SignInRefused("The sign-in provider names another issuer than OIDC_ISSUER.")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise SignInRefused(f"The sign-in provider's discovery document has no {name}.")
    _discovery[issuer] = (time.monotonic(), document)
    return document


def _key_set(refresh: bool = False) -> KeySet:
    uri = discovery()["jwks_uri"]
    cached = _keys.get(uri)
    if cached and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        keys = KeySet.import_key_set(_get_json(uri))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        raise SignInRefused("The sign-in provider's keys could not be read.") from None
    _keys[uri] = (time.monotonic(), keys)
    return keys


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def authorization_url(redirect_uri: str, destination: str | None) -> str:
    """Where to send the browser; what the callback must find again is kept in the session."""
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    session[PENDING] = {"state": state, "nonce": nonce, "verifier": verifier, "next": destination}
    query = {
        "response_type": "code",
        "client_id": current_app.config["OIDC_CLIENT_ID"],
        "redirect_uri": redirect_uri,
        "scope": current_app.config["OIDC_SCOPES"],
        "state": state,
        "nonce": nonce,
        "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    return discovery()["authorization_endpoint"] + "?" + urlencode(query)


def _kid(id_token: str) -> str | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    except (ValueError, IndexError):
        raise SignInRefused("The sign-in provider sent an unreadable ID token.") from None
    return header.get("kid") if isinstance(header, dict) else None


def verify_id_token(id_token: str, nonce: str) -> dict[str, Any]:
    keys = _key_set()
    kid = _kid(id_token)
    if kid is not None and not _has_kid(keys, kid):
        keys = _key_set(refresh=True)  # the provider rotated its keys since we fetched them
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "RS384", "RS512", "ES256", "PS256"])
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": discovery()["issuer"]},
            aud={"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except JoseError as error:
        raise SignInRefused(f"The ID token was refused: {error.error}: {error.description or ''}".strip()) from None
    return dict(token.claims)


def _has_kid(keys: KeySet, kid: str) -> bool:
    try:
        keys.get_by_kid(kid)
    except (JoseError, ValueError, KeyError):
        return False
    return True


def finish(args: dict[str, str], redirect_uri: str) -> tuple[Identity, str | None]:
    """Checks the callback's state, swaps the code for tokens (with the PKCE verifier) and checks the ID token."""
    pending = session.pop(PENDING, None)
    if not isinstance(pending, dict):
        raise SignInRefused("This sign-in was not started here, or was finished already. Start again.")
    if args.get("error"):
        raise SignInRefused(f"The sign-in provider refused: {args.get('error_description') or args['error']}.")
    if not secrets.compare_digest(str(args.get("state", "")), pending["state"]):
        raise SignInRefused("This sign-in's state does not match the one we started. Start again.")
    config = current_app.config
    try:
        response = httpx.post(
            discovery()["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": args.get("code", ""),
                "redirect_uri": redirect_uri,
                "code_verifier": pending["verifier"],
            },
            auth=(config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"] or ""),
            timeout=TIMEOUT,
        )
        body = response.json()
    except (httpx.HTTPError, ValueError):
        raise SignInRefused("The sign-in provider did not answer the code exchange.") from None
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        error = body.get("error", response.status_code) if isinstance(body, dict) else response.status_code
        raise SignInRefused(f"The sign-in provider refused the code ({error}): it may have been used already.")
    claims = verify_id_token(body["id_token"], pending["nonce"])
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused("The sign-in provider gave no email address; add the email scope (OIDC_SCOPES).")
    if claims.get("email_verified") is not True:
        raise SignInRefused(f"The sign-in provider has not verified {email}.")
    name = claims.get("name") if isinstance(claims.get("name"), str) else email.split("@")[0]
    return Identity(email.strip().lower(), str(name)[:120], claims), pending.get("next")


def admin_by_claim(claims: dict[str, Any]) -> bool | None:
    """True/False when OIDC_ROLES_CLAIM is set (admin when it holds one of OIDC_ADMIN_VALUES); None otherwise."""
    claim = current_app.config.get("OIDC_ROLES_CLAIM")
    if not claim:
        return None
    values = claims.get(claim) or []
    values = [values] if isinstance(values, str) else values
    admin_values = set(current_app.config.get("OIDC_ADMIN_VALUES") or ())
    return isinstance(values, list) and bool(admin_values & {str(v) for v in values})
