"""Who the client is, behind the proxies we run: one rule for throttles, lockout, audit and logs.

`X-Forwarded-For` is written by whoever sends the request. Only a proxy we run may tell us the
client's address, so the header is read only when the peer (`REMOTE_ADDR`) is one of
`CARECORE_TRUSTED_PROXIES`; then the client is the first hop from the right that is not a
trusted proxy (each proxy appends the address it saw, so hops to the left of that are the
client's own words). This is uvicorn's rule for `--forwarded-allow-ips`, which the web process
gets from the same variable: when uvicorn has already put the client in `REMOTE_ADDR`, that
address is not a proxy and the header is not read again. See docs/security.md, "Client identity
behind proxies".
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


# Remembered: every request asks for its peer's address twice (the request id's trust, the client
# ip), and the same few peers (a proxy, a client's connection) come back request after request;
# `ipaddress` parses in Python. The texts come from the connection or from our own proxies.
@lru_cache(maxsize=4096)
def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a forwarded hop: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80` or `::1`."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[Network, ...]
) -> bool:
    return any(address in network for network in networks)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "CARECORE_TRUSTED_PROXIES", ())))


def peer_is_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the connection came from one of our own proxies (which may set X-* headers)."""
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    return peer is not None and _is_trusted(peer, trusted_networks())


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as a plain IP string, or None when the server was not told one."""
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    networks = trusted_networks()
    if not _is_trusted(peer, networks):
        return str(peer)
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Our proxy appended something that is not an address: stop trusting the chain.
            return str(peer)
        if not _is_trusted(address, networks):
            return str(address)
    # Every hop is one of ours (a health check from the proxy itself): the leftmost one.
    first = _address(hops[0]) if hops else None
    return str(first or peer)
