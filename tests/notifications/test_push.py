"""Web push: registering a browser's subscription, and delivery through pywebpush to a push
service played by a recording server on 127.0.0.1 (VAPID signature and payload encryption are
checked the way a push service and the browser would)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import http_ece
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from carecore.audit.models import AuditEvent, Outcome
from carecore.notifications.models import Channel, PushSubscription, Status
from carecore.notifications.push import topic_for
from carecore.notifications.services import notification_deliver

from .helpers import notify_one
from .http_stub import Reply, stub_server

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"
URL = "/api/v1/push-subscriptions/"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class Browser:
    """A browser's side of a subscription: its ECDH key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public_point(self.key)), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, str]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth))


@pytest.fixture
def vapid(settings) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    settings.CARECORE_WEBPUSH_VAPID_PRIVATE_KEY = b64url(
        key.private_numbers().private_value.to_bytes(32, "big")
    )
    settings.CARECORE_WEBPUSH_VAPID_PUBLIC_KEY = b64url(public_point(key))
    settings.CARECORE_WEBPUSH_VAPID_SUBJECT = "mailto:ops@carecore.example"
    settings.CARECORE_WEBPUSH_ALLOWED_HOSTS = ["127.0.0.1", "fcm.googleapis.com"]
    settings.CARECORE_PORTAL_URL = "https://portal.carecore.example"
    return key


class TestSubscriptionApi:
    def test_a_user_registers_a_browser_and_sees_the_vapid_key(self, patient, client_for, vapid):
        client = client_for(patient.user)
        browser = Browser("https://fcm.googleapis.com/fcm/send/abc123")

        created = client.post(URL, browser.subscription_json(), format="json")
        listing = client.get(URL).json()

        assert created.status_code == 201
        assert created.json()["endpoint"] == browser.endpoint
        assert listing["vapid_public_key"] == b64url(public_point(vapid))
        assert [row["id"] for row in listing["subscriptions"]] == [created.json()["id"]]

    def test_the_same_browser_registered_by_another_account_moves_to_it(
        self, patient, other_patient, client_for, vapid
    ):
        browser = Browser("https://fcm.googleapis.com/fcm/send/shared-computer")
        client_for(patient.user).post(URL, browser.subscription_json(), format="json")

        client_for(other_patient.user).post(URL, browser.subscription_json(), format="json")

        (subscription,) = PushSubscription.objects.all()
        assert subscription.user_id == other_patient.user_id

    @pytest.mark.parametrize(
        "endpoint",
        [
            "https://169.254.169.254/latest/meta-data",  # not a push service: no SSRF
            "http://fcm.googleapis.com/fcm/send/x",  # not https
            "https://fcm.googleapis.com.evil.example/x",
        ],
    )
    def test_only_push_service_endpoints_are_accepted(self, patient, client_for, vapid, endpoint):
        body = Browser(endpoint).subscription_json()

        response = client_for(patient.user).post(URL, body, format="json")

        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {
            "endpoint": ["Use the endpoint of a web push service."]
        }

    def test_keys_that_are_not_browser_keys_are_refused_with_every_field(
        self, patient, client_for, vapid
    ):
        body = {
            "endpoint": "https://fcm.googleapis.com/fcm/send/x",
            "keys": {"p256dh": "short", "auth": "c2hvcnQ"},
        }

        response = client_for(patient.user).post(URL, body, format="json")

        assert response.status_code == 400
        assert "keys.p256dh" in response.json()["error"]["fields"]

    def test_someone_elses_subscription_is_404_and_ones_own_is_deleted(
        self, patient, other_patient, client_for, vapid
    ):
        browser = Browser("https://fcm.googleapis.com/fcm/send/mine")
        created = client_for(patient.user).post(URL, browser.subscription_json(), format="json")
        subscription_id = created.json()["id"]

        denied = client_for(other_patient.user).delete(f"{URL}{subscription_id}/")
        deleted = client_for(patient.user).delete(f"{URL}{subscription_id}/")

        assert denied.status_code == 404 and deleted.status_code == 204
        assert not PushSubscription.objects.exists()
        assert AuditEvent.objects.filter(
            actor_id=other_patient.user_id, outcome=Outcome.DENIED, object_id=subscription_id
        ).exists()


def _register(user, endpoint: str) -> Browser:
    browser = Browser(endpoint)
    keys = browser.subscription_json()["keys"]
    PushSubscription.objects.create(
        user=user,
        endpoint=endpoint,
        p256dh=keys["p256dh"],
        auth=keys["auth"],
    )
    return browser


def _push_row(user: Any) -> Any:
    return notify_one(user, Channel.PUSH)


@time_machine.travel(NOON_NY, tick=False)
def test_a_push_is_signed_encrypted_and_readable_only_by_the_browser(patient, vapid):
    with stub_server(lambda _request: Reply(status=201, body=b"")) as server:
        browser = _register(patient.user, f"{server.url}/push/device-1")
        row = _push_row(patient.user)

        assert notification_deliver(notification_id=row.id) == "sent"

    (request,) = server.requests
    assert request.path == "/push/device-1"
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["topic"] == topic_for(str(row.id))
    assert request.headers["urgency"] == "normal" and int(request.headers["ttl"]) > 0
    scheme, _, credentials = request.headers["authorization"].partition(" ")
    params = dict(part.strip().split("=", 1) for part in credentials.split(","))
    assert scheme == "vapid" and params["k"] == b64url(public_point(vapid))
    claims = jwt.decode(params["t"], vapid.public_key(), algorithms=["ES256"], audience=server.url)
    assert claims["sub"] == "mailto:ops@carecore.example"
    assert browser.decrypt(request.body) == {
        "title": "Appointment reminder",
        "body": "You have an upcoming appointment. Sign in to see the details and how to join.",
        "url": "https://portal.carecore.example/visits/1/",
    }
    assert patient.user.first_name.encode() not in request.body
    row.refresh_from_db()
    assert row.status == Status.SENT


@time_machine.travel(NOON_NY, tick=False)
def test_a_subscription_the_push_service_reports_gone_is_deleted(patient, vapid):
    with stub_server(
        lambda request: Reply(status=410 if "gone" in request.path else 201)
    ) as server:
        _register(patient.user, f"{server.url}/push/gone")
        _register(patient.user, f"{server.url}/push/alive")
        row = _push_row(patient.user)

        assert notification_deliver(notification_id=row.id) == "sent"

    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        f"{server.url}/push/alive"
    ]


@time_machine.travel(NOON_NY, tick=False)
@pytest.mark.parametrize(
    ("status", "outcome"), [(410, "failed"), (413, "failed"), (503, "pending")]
)
def test_when_no_browser_took_it_the_row_fails_or_is_retried(patient, vapid, status, outcome):
    with stub_server(lambda _request: Reply(status=status, body=b"")) as server:
        _register(patient.user, f"{server.url}/push/only")
        row = _push_row(patient.user)

        assert notification_deliver(notification_id=row.id) == outcome


def test_no_push_rows_without_vapid_keys_or_without_a_subscription(
    patient, other_patient, settings
):
    settings.CARECORE_WEBPUSH_VAPID_PRIVATE_KEY = ""
    _register(patient.user, "https://fcm.googleapis.com/fcm/send/x")
    assert _push_row(patient.user) is None

    settings.CARECORE_WEBPUSH_VAPID_PRIVATE_KEY = "configured"
    assert _push_row(other_patient.user) is None


@time_machine.travel(NOON_NY, tick=False)
def test_an_unreachable_push_service_is_retried_without_its_url_in_the_outbox(patient, vapid):
    with stub_server() as server:
        dead_endpoint = f"{server.url}/push/capability-secret"
    _register(patient.user, dead_endpoint)  # the server is gone: connection refused
    row = _push_row(patient.user)

    assert notification_deliver(notification_id=row.id) == "pending"

    row.refresh_from_db()
    assert row.last_error == "connection_failed"
