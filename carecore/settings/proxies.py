"""CARECORE_TRUSTED_PROXIES, checked once at start-up (docs/security.md, "Client identity behind
proxies"). carecore/common/client_identity.py applies it to each request."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def parse_trusted_proxies(values: Iterable[str]) -> list[str]:
    """The entries, checked: each an IP address or a CIDR network.

    Raises ValueError naming a bad entry: uvicorn would silently take it for a host name that
    never matches, and a typo here should stop the deploy instead. `*` is refused: trusting
    every peer is the hole this setting exists to close.
    """
    checked = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"CARECORE_TRUSTED_PROXIES: {value!r} is not an IP address or CIDR network"
            ) from None
        checked.append(value)
    return checked
