"""Where a webhook may go: https in production, and never to this machine or its private network.

The check runs at every delivery, after DNS, and the request then goes to the address that was checked: a name
that resolves to a public address when added and to 169.254.169.254 later (DNS rebinding) cannot get in.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

#: Cloud metadata services, also reachable at addresses that are not link-local on some clouds.
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})


class UnsafeURL(ValueError):
    """The URL is not one Farewell posts to; the message says why, for the form, the CLI and the attempt log."""


@dataclass(frozen=True)
class Target:
    """A URL checked for one delivery: the request connects to one of `addresses` (every one checked, tried in
    order), and names `host` for TLS and the Host header."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    path: str


def check_url(url: str) -> None:
    """What can be told without DNS, when an endpoint is added: the scheme, a host, no credentials."""
    parts = urlsplit(url.strip())
    schemes = ("https", "http") if current_app.config["FAREWELL_ENV"] != "production" else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeURL(
            "The URL must start with https://." + ("" if len(schemes) == 1 else " (or http:// outside production)")
        )
    if not parts.hostname:
        raise UnsafeURL("The URL names no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Put no user name or password in the URL; a standard endpoint is signed instead.")
    try:
        parts.port  # noqa: B018 -- raises on a port out of range
    except ValueError as error:
        raise UnsafeURL(f"The URL's port is wrong: {error}.") from None


def resolve(url: str) -> Target:
    """The address to connect to, after checking every address the host resolves to; raises UnsafeURL."""
    check_url(url)
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL(f"{host} does not resolve: {error}.") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found))
    if not current_app.config.get("WEBHOOK_ALLOW_PRIVATE_HOSTS"):
        for address in addresses:
            if not is_public(address):
                raise UnsafeURL(
                    f"{host} resolves to {address}, a private, loopback, link-local or metadata address "
                    "(set WEBHOOK_ALLOW_PRIVATE_HOSTS=true for a receiver on your own network)."
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, addresses, path)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if str(ip) in METADATA_ADDRESSES:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)
