"""Who the client is: X-Forwarded-For and X-Request-ID count only when one of our own proxies
(CARECORE_TRUSTED_PROXIES) sent them, for throttles, lockout, the request id and the audit trail.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.http import HttpRequest
from django.test import RequestFactory, override_settings

from carecore.audit.models import AuditEvent
from carecore.common import throttling
from carecore.common.client_identity import client_ip
from carecore.settings.proxies import parse_trusted_proxies

from ..factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
LOGIN = "/api/v1/auth/login/"
REGISTER = "/api/v1/auth/register/"
BEHIND_OUR_PROXY = override_settings(CARECORE_TRUSTED_PROXIES=["10.0.0.0/8", "192.0.2.1"])


def _meta(remote: str, forwarded: str | None = None) -> HttpRequest:
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


# --- the rule ------------------------------------------------------------------------------------


def test_without_trusted_proxies_the_client_is_the_peer_whatever_the_header_says():
    assert client_ip(_meta("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


@BEHIND_OUR_PROXY
def test_behind_our_proxy_the_client_is_the_first_untrusted_hop_from_the_right():
    # The client wrote "203.0.113.66"; our proxy (10.0.0.2) appended the address it saw.
    request = _meta("10.0.0.2", "203.0.113.66, 198.51.100.7, 10.9.9.9")

    assert client_ip(request) == "198.51.100.7"


@BEHIND_OUR_PROXY
def test_a_peer_outside_the_trusted_list_cannot_speak_for_anyone():
    assert client_ip(_meta("198.51.100.7", "10.0.0.3")) == "198.51.100.7"


@BEHIND_OUR_PROXY
def test_hops_written_as_addresses_with_ports_and_garbage_are_handled():
    assert client_ip(_meta("10.0.0.2", "[2001:db8::1]:443")) == "2001:db8::1"
    assert client_ip(_meta("10.0.0.2", "198.51.100.7:5000")) == "198.51.100.7"
    # Our proxy appended something that is not an address: the proxy is all we know.
    assert client_ip(_meta("10.0.0.2", "not-an-ip")) == "10.0.0.2"
    # The proxy talking to us itself (a health check): the leftmost hop, or the peer.
    assert client_ip(_meta("10.0.0.2", "10.0.0.7")) == "10.0.0.7"
    assert client_ip(_meta("10.0.0.2")) == "10.0.0.2"


def test_the_setting_takes_addresses_and_networks_and_refuses_anything_else():
    assert parse_trusted_proxies(["10.0.0.0/8", " 192.0.2.1 ", "", "2001:db8::/32"]) == [
        "10.0.0.0/8",
        "192.0.2.1",
        "2001:db8::/32",
    ]
    for bad in ("*", "lb.internal", "10.0.0.0/33"):
        with pytest.raises(ValueError, match="CARECORE_TRUSTED_PROXIES"):
            parse_trusted_proxies([bad])


# --- throttles ---------------------------------------------------------------------------------


def test_a_new_forwarded_for_per_request_does_not_escape_the_login_throttle(anon, monkeypatch):
    monkeypatch.setattr(throttling.AuthRateThrottle, "rate", "3/min")
    body = {"email": "someone@example.test", "password": "guess"}

    statuses = [
        anon.post(LOGIN, body, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]

    assert statuses == [400, 400, 400, 429, 429]


def test_a_new_forwarded_for_per_request_does_not_escape_the_sign_up_throttle(anon, monkeypatch):
    monkeypatch.setattr(throttling.AuthRateThrottle, "rate", "2/min")

    statuses = [
        anon.post(
            REGISTER, {"email": "x"}, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(3)
    ]

    assert statuses == [400, 400, 429]


@BEHIND_OUR_PROXY
def test_behind_our_proxy_each_real_client_has_its_own_budget(anon, monkeypatch):
    monkeypatch.setattr(throttling.AuthRateThrottle, "rate", "2/min")
    body = {"email": "someone@example.test", "password": "guess"}

    def attempt(client_wrote: str, client: str) -> int:
        forwarded = f"{client_wrote}, {client}"
        return anon.post(
            LOGIN, body, format="json", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code

    # The spoofed part changes each time; the address our proxy saw does not.
    assert [attempt(f"198.51.100.{n}", "203.0.113.9") for n in range(3)] == [400, 400, 429]
    assert attempt("198.51.100.1", "203.0.113.10") == 400


def test_failed_logins_lock_out_the_real_address_whatever_the_header_says(anon, patient):
    for n in range(10):
        anon.post(
            LOGIN,
            {"email": "patient@example.test", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )

    locked = anon.post(
        LOGIN,
        {"email": "patient@example.test", "password": TEST_PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.200",
    )

    assert locked.status_code == 429


# --- request id and audit trail ----------------------------------------------------------------


def test_a_client_cannot_choose_its_request_id_or_audited_ip(client_for, clinician, patient):
    response = client_for(clinician.user).get(
        f"/api/v1/patients/{patient.id}/",
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.1",
        HTTP_X_REQUEST_ID="chosen-by-the-client",
    )

    event = AuditEvent.objects.get(object_type="patient", action="read")
    assert event.ip == "198.51.100.7"
    assert event.request_id != "chosen-by-the-client"
    assert response["X-Request-ID"] == event.request_id


@BEHIND_OUR_PROXY
def test_behind_our_proxy_the_audit_trail_has_the_client_and_the_proxys_request_id(
    client_for, clinician, patient
):
    client_for(clinician.user).get(
        f"/api/v1/patients/{patient.id}/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.7",
        HTTP_X_REQUEST_ID="lb-req-12345678",
    )

    event = AuditEvent.objects.get(object_type="patient", action="read")
    assert event.ip == "198.51.100.7"
    assert event.request_id == "lb-req-12345678"


# --- the web server gets the same list -----------------------------------------------------------

WEB_LAUNCHERS = [
    "Procfile",
    "Dockerfile",
    "docker-compose.yml",
    "deploy/k8s/base/web.yaml",
    "tests/servers.py",
]


@pytest.mark.parametrize("path", WEB_LAUNCHERS)
def test_every_web_launcher_takes_the_trusted_proxies_from_the_one_config(path):
    text = (ROOT / path).read_text()

    assert "carecore.asgi:application" in text
    assert "python:carecore.web_server" in text, path
    # carecore/web_server.py alone decides whose forwarded headers count.
    assert "--forwarded-allow-ips" not in text, path
    assert "FORWARDED_ALLOW_IPS" not in text


def test_the_web_config_trusts_forwarded_headers_from_the_apps_list_only(monkeypatch):
    import carecore.web_server

    monkeypatch.setenv("CARECORE_TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.7")
    assert importlib.reload(carecore.web_server).forwarded_allow_ips == "10.0.0.0/8,192.0.2.7"

    monkeypatch.delenv("CARECORE_TRUSTED_PROXIES")
    assert importlib.reload(carecore.web_server).forwarded_allow_ips == ""


def test_nothing_configures_the_old_variables():
    for path in [".env.example", "deploy/k8s/base/configmap.yaml", "docs/configuration.md"]:
        text = (ROOT / path).read_text()
        assert "FORWARDED_ALLOW_IPS" not in text, path
        assert "CARECORE_PROXY_COUNT" not in text, path
