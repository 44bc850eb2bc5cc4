"""Help Scout (Mailbox API 2.0): OAuth2 client credentials with Authlib's httpx client, the token kept until it
expires; `GET /v2/conversations?query=(email:"…")&status=all`, following `_links.next` on the same host."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from authlib.integrations.base_client.errors import OAuthError

with warnings.catch_warnings():
    # Authlib 1.9 announces at import that its httpx module will move to httpx2: on stderr, in front of every
    # command's own output. The client itself works unchanged; the move is for a later Authlib.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client

from feedback.helpdesk.connector import MAX_PAGES, Found, newest, searchable
from feedback.helpdesk.http import TIMEOUT, Endpoint, HelpdeskError, follows, get_json, parse_time, shape_error
from feedback.helpdesk.models import MAX_KEPT
from feedback.helpdesk.text import tidy

#: Tokens by (API URL, app id), shared by every client of this process until a minute before they expire.
_TOKENS: dict[tuple[str, str], dict[str, Any]] = {}
_LOCK = threading.Lock()


class HelpScout:
    name = "helpscout"
    label = "Help Scout"

    def __init__(self, api_url: str, app_id: str, app_secret: str, max_bytes: int, transport: Any = None) -> None:
        self.endpoint = Endpoint(self.label, api_url, max_bytes, "the app id or secret is wrong")
        self.key = (api_url, app_id)
        self.client = OAuth2Client(
            client_id=app_id,
            client_secret=app_secret,
            token_endpoint=f"{api_url}/v2/oauth2/token",
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method's name, not a secret
            grant_type="client_credentials",
            base_url=api_url,
            timeout=TIMEOUT,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def _authorise(self) -> None:
        with _LOCK:
            token = _TOKENS.get(self.key)
            if token is None or token.get("expires_at", 0) < time.time() + 60:
                try:
                    token = dict(self.client.fetch_token(grant_type="client_credentials"))
                except OAuthError as error:
                    raise HelpdeskError(
                        f"{self.label} refused the app id or secret ({error.error}).", retry=False
                    ) from error
                except Exception as error:  # the token endpoint down, slow or answering nonsense
                    raise HelpdeskError(f"{self.label} gave no token ({type(error).__name__}).") from error
                _TOKENS[self.key] = token
        self.client.token = token

    def conversations(self, email: str, since: datetime) -> list[Found]:
        self.endpoint.start()
        return newest(self._conversations(email, since), since)

    def _conversations(self, email: str, since: datetime) -> Iterator[Found]:
        address = searchable(self.label, email)
        self._authorise()
        url: Any = "/v2/conversations"
        params: dict[str, Any] | None = {"query": f'(email:"{address}")', "status": "all", "sortField": "createdAt",
                                         "sortOrder": "desc"}  # fmt: skip
        seen: set[str] = set()
        count = 0
        for _ in range(MAX_PAGES):
            page = get_json(self.client, self.endpoint, url, params=params)
            embedded = page.get("_embedded", {}) if isinstance(page, dict) else None
            items = embedded.get("conversations", []) if isinstance(embedded, dict) else None
            if not isinstance(items, list):
                raise shape_error(self.label, "no conversations list")
            for item in items:
                found = self._conversation(item) if isinstance(item, dict) else None
                if found is not None:
                    count += 1
                    yield found
                if count >= MAX_KEPT:
                    return
            links = page.get("_links") if isinstance(page.get("_links"), dict) else {}
            following = links.get("next", {}).get("href") if isinstance(links.get("next"), dict) else None
            if not follows(self.endpoint, following, seen):
                return
            url, params = following, None

    def _conversation(self, item: dict[str, Any]) -> Found | None:
        conversation_id, opened_at = item.get("id"), parse_time(item.get("createdAt"))
        if not isinstance(conversation_id, int) or opened_at is None:
            return None
        source = item.get("source") if isinstance(item.get("source"), dict) else {}
        created_by = item.get("createdBy") if isinstance(item.get("createdBy"), dict) else {}
        tags = (
            [t.get("tag") for t in item.get("tags", []) if isinstance(t, dict)]
            if isinstance(item.get("tags"), list)
            else []
        )
        threads = item.get("threads")
        return Found(
            external_id=str(conversation_id),
            url=f"https://secure.helpscout.net/conversation/{conversation_id}/{item.get('number', '')}",
            subject=str(item.get("subject") or ""),
            status=str(item.get("status") or ""),
            channel=str(source.get("type") or item.get("type") or ""),
            opened_at=opened_at,
            solved_at=parse_time(item.get("closedAt")),
            replies=max(threads - 1, 0) if isinstance(threads, int) else None,
            tags=tags,
            opening_message=tidy(str(item.get("preview") or "")),
            opened_by_customer=source.get("via") != "user" and created_by.get("type", "customer") == "customer",
        )
