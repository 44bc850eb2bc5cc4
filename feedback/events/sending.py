"""One POST to a receiver, to the address checked for it, with explicit timeouts and a 1 KB cap on the answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from feedback.events.safety import Target, UnsafeURL, resolve

#: Of the receiver's answer, what is read and kept; the rest is never read.
ANSWER_BYTES = 1024


@dataclass(frozen=True)
class Answer:
    """What came back: a status, or (none) the error that kept one from coming; always how long it took."""

    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retry(self) -> bool:
        """A timeout, a connection error, a 5xx or a 429 may pass; a 4xx, a redirect or an unsafe URL will not."""
        if self.status_code is None:
            return not self.error.startswith("Unsafe URL")
        return self.status_code >= 500 or self.status_code == 429


class Clients:
    """One httpx client per checked address and host in a batch, so deliveries to one receiver share a connection."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._clients: dict[tuple[str, str, str, int], httpx.Client] = {}

    def for_address(self, target: Target, address: str) -> httpx.Client:
        key = (target.scheme, target.host, address, target.port)
        if key not in self._clients:
            self._clients[key] = httpx.Client(
                timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False
            )
        return self._clients[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def post(clients: Clients, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """Checks the URL again (after DNS), then posts to the first checked address that takes the connection."""
    started = time.monotonic()
    deadline = started + clients.timeout

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = resolve(url)
    except UnsafeURL as refused:
        return Answer(None, "", f"Unsafe URL: {refused}", took())
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    error: Exception | None = None
    for address in target.addresses:
        literal = f"[{address}]" if ":" in address else address
        client = clients.for_address(target, address)
        request = client.build_request(
            "POST",
            f"{target.scheme}://{literal}:{target.port}{target.path}",
            content=body,
            headers={**headers, "host": host},
            extensions=extensions,
        )
        try:
            return _answer(client, request, started, deadline)
        except httpx.ConnectError as refused:  # the next address of the same name, checked as this one was
            error = refused
        except httpx.TimeoutException as timed_out:
            return Answer(None, "", f"Timed out after {clients.timeout:g} s ({type(timed_out).__name__}).", took())
        except httpx.HTTPError as failed:
            return Answer(None, "", f"{type(failed).__name__}: {failed}"[:500], took())
    return Answer(None, "", f"{type(error).__name__}: {error}"[:500], took())


def _answer(client: httpx.Client, request: httpx.Request, started: float, deadline: float) -> Answer:
    """Reads the answer up to ANSWER_BYTES, and no longer than the deadline, then drops the rest."""
    response = client.send(request, stream=True)
    try:
        kept = bytearray()
        for chunk in response.iter_raw():
            kept += chunk
            if len(kept) >= ANSWER_BYTES or time.monotonic() > deadline:
                break
    finally:
        response.close()
    text = bytes(kept[:ANSWER_BYTES]).decode("utf-8", errors="replace")
    return Answer(response.status_code, text, "", int((time.monotonic() - started) * 1000))
