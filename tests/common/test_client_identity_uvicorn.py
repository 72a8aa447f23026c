"""The same client identity through a real uvicorn started as the Procfile starts it: with
CARECORE_TRUSTED_PROXIES listing the proxy, uvicorn and the app take the client from
X-Forwarded-For; with it empty, the header is nobody's word."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from carecore.audit.models import Action, AuditEvent
from tests.servers import running_web

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "/api/v1/auth/login/"


def _failed_sign_in(base: str, forwarded_for: str) -> int:
    request = urllib.request.Request(  # noqa: S310
        f"{base}{LOGIN}",
        method="POST",
        data=json.dumps({"email": "nobody@example.test", "password": "guess"}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _clear_of_a_window_edge() -> None:
    """Throttles count in fixed one-minute windows (carecore/common/throttling.py): three
    sign-ins that straddle the minute's turn fall in two windows and none is refused. Start
    them with the minute's last seconds out of the way."""
    seconds_into_minute = time.time() % 60
    if seconds_into_minute > 55:
        time.sleep(60 - seconds_into_minute + 0.1)


def _audited_ips() -> list[str | None]:
    events = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).order_by("id")
    return list(events.values_list("ip", flat=True))


def test_behind_a_listed_proxy_uvicorn_and_the_app_agree_on_the_client() -> None:
    env = {"CARECORE_TRUSTED_PROXIES": "127.0.0.1", "CARECORE_THROTTLE_AUTH": "2/min"}
    with running_web("trusted-proxy", env) as base:
        _clear_of_a_window_edge()
        # The client wrote the first hop; "our proxy" (127.0.0.1) appended the address it saw.
        first = [_failed_sign_in(base, f"198.51.100.{n}, 203.0.113.5") for n in range(3)]
        other_client = _failed_sign_in(base, "198.51.100.1, 203.0.113.6")

    assert first == [400, 400, 429]
    assert other_client == 400
    assert _audited_ips() == ["203.0.113.5", "203.0.113.5", "203.0.113.6"]


def test_with_no_trusted_proxy_the_header_is_ignored() -> None:
    env = {"CARECORE_TRUSTED_PROXIES": "", "CARECORE_THROTTLE_AUTH": "2/min"}
    with running_web("no-trusted-proxy", env) as base:
        _clear_of_a_window_edge()
        statuses = [_failed_sign_in(base, f"203.0.113.{n}") for n in range(3)]

    assert statuses == [400, 400, 429]
    assert _audited_ips() == ["127.0.0.1", "127.0.0.1"]
