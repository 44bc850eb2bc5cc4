"""The plumbing every help-desk client shares: timeouts, a capped read, and errors in plain words.

A help desk's answer is untrusted: a body past HELPDESK_MAX_RESPONSE_BYTES is refused before it is all read, JSON
that does not parse or has the wrong shape is an error naming the help desk, and a 429 carries its Retry-After.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

#: Connect 5 s, read 15 s (issue 26): a help desk that hangs costs one attempt, never a stuck worker.
TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)

#: One fetch (every page and ticket) stops starting requests after this many seconds, and counts as a failed attempt.
FETCH_BUDGET = 120.0

#: What each status means to the person reading the outcome.
_MEANINGS = {
    401: "the credentials are wrong",
    403: "the credentials may not read tickets",
    404: "the address is wrong (no such API there)",
}


class HelpdeskError(Exception):
    """What went wrong, in words for the admin page and the timeline; `retry` when trying later may help."""

    def __init__(self, message: str, *, retry: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.retry_after = retry_after


@dataclass
class Endpoint:
    """One help desk's base URL and its name in messages ("Zendesk")."""

    label: str
    base_url: str
    max_bytes: int
    #: Words for a 401 that name what to check ("the API token or email is wrong").
    wrong_credentials: str = "the credentials are wrong"
    #: time.monotonic() past which no further request starts: a fetch's whole budget, however slow each answer.
    deadline: float | None = None

    def start(self, budget: float = FETCH_BUDGET) -> None:
        self.deadline = time.monotonic() + budget


def get_json(client: httpx.Client, endpoint: Endpoint, url: str, **kwargs: Any) -> Any:
    """GET `url` (absolute, or relative to the base URL) and its JSON; raises HelpdeskError for anything else."""
    return request_json(client, endpoint, "GET", url, **kwargs)


def request_json(client: httpx.Client, endpoint: Endpoint, method: str, url: str, **kwargs: Any) -> Any:
    return request_json_with_headers(client, endpoint, method, url, **kwargs)[0]


def request_json_with_headers(
    client: httpx.Client, endpoint: Endpoint, method: str, url: str, **kwargs: Any
) -> tuple[Any, httpx.Headers]:
    """The JSON and the response's headers (a Link header paginates some help desks)."""
    label = endpoint.label
    if endpoint.deadline is not None and time.monotonic() > endpoint.deadline:
        raise HelpdeskError(f"{label} answered too slowly: the fetch stopped after {FETCH_BUDGET:g} s.")
    try:
        with client.stream(method, url, **kwargs) as response:
            body = _capped_body(response, endpoint)
    except httpx.TimeoutException as error:
        raise HelpdeskError(f"{label} did not answer in time ({type(error).__name__}).") from error
    except httpx.TransportError as error:
        raise HelpdeskError(f"{label} could not be reached ({type(error).__name__}).") from error
    status = response.status_code
    if status == 429:
        wait = retry_after(response.headers.get("Retry-After"))
        raise HelpdeskError(f"{label} answered 429: it limits us for now.", retry_after=wait)
    if status == 401:
        raise HelpdeskError(f"{label} answered 401: {endpoint.wrong_credentials}.", retry=False)
    if status in _MEANINGS:
        raise HelpdeskError(f"{label} answered {status}: {_MEANINGS[status]}.", retry=False)
    if status >= 500:
        raise HelpdeskError(f"{label} answered {status}: it is having trouble.")
    if status >= 300:
        raise HelpdeskError(f"{label} answered {status}, which we did not expect.", retry=False)
    try:
        return json.loads(body), response.headers
    except ValueError as error:
        raise HelpdeskError(f"{label} answered with something that is not JSON.") from error


def _capped_body(response: httpx.Response, endpoint: Endpoint) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > endpoint.max_bytes:
        raise HelpdeskError(f"{endpoint.label} answered with {int(declared):,} bytes, more than we read.")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > endpoint.max_bytes:
            raise HelpdeskError(f"{endpoint.label} answered with more than {endpoint.max_bytes:,} bytes; we stopped.")
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def follows(endpoint: Endpoint, url: object, seen: set[str]) -> bool:
    """Whether to follow a next-page link: new, and on the help desk's own host (our credentials go with it)."""
    if not isinstance(url, str) or not url or url in seen:
        return False
    seen.add(url)
    return urlsplit(url).netloc == urlsplit(endpoint.base_url).netloc


def shape_error(label: str, what: str) -> HelpdeskError:
    """The JSON parsed but is not what the help desk documents."""
    return HelpdeskError(f"{label} answered in a shape we do not know ({what}).")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time in UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
