"""E-mail through django-anymail, at the HTTP boundary: each provider's real backend talks HTTP to
a recording server on 127.0.0.1 (anymail's API URLs and boto3's endpoint are settings)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import pytest
import time_machine

from carecore.notifications.models import Channel, Notification, Status
from carecore.notifications.services import notification_deliver
from carecore.settings.providers import EMAIL_BACKENDS

from .helpers import notify_one
from .http_stub import Recorded, Reply, stub_server

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"


def _postmark_ok(request: Recorded) -> Reply:
    to = request.json()["To"]
    return Reply(body={"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()), "To": to})


PROVIDERS: dict[str, dict[str, Any]] = {
    "postmark": {
        "anymail": lambda url: {"POSTMARK_SERVER_TOKEN": "pm-token", "POSTMARK_API_URL": f"{url}/"},
        "path": "/email",
        "auth": ("x-postmark-server-token", "pm-token"),
        "ok": _postmark_ok,
    },
    "mailgun": {
        "anymail": lambda url: {
            "MAILGUN_API_KEY": "mg-key",
            "MAILGUN_SENDER_DOMAIN": "mg.carecore.example",
            "MAILGUN_API_URL": f"{url}/v3",
        },
        "path": "/v3/mg.carecore.example/messages",
        "auth": ("authorization", "Basic " + base64.b64encode(b"api:mg-key").decode()),
        "ok": lambda _request: Reply(body={"id": "<20260610.1@mg>", "message": "Queued."}),
    },
    "sendgrid": {
        "anymail": lambda url: {"SENDGRID_API_KEY": "sg-key", "SENDGRID_API_URL": f"{url}/v3/"},
        "path": "/v3/mail/send",
        "auth": ("authorization", "Bearer sg-key"),
        "ok": lambda _request: Reply(status=202, body=b""),
    },
    "amazon_ses": {
        "anymail": lambda url: {
            "AMAZON_SES_CLIENT_PARAMS": {
                "region_name": "us-east-1",
                "aws_access_key_id": "AKIDEXAMPLE",
                "aws_secret_access_key": "ses-secret",
                "endpoint_url": url,
            }
        },
        "path": "/v2/email/outbound-emails",
        "auth": ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "ok": lambda _request: Reply(body={"MessageId": "0100018f-ses"}),
    },
}


def _body_text(request: Recorded) -> str:
    """Everything the provider received, with SES's base64 raw MIME decoded."""
    text = unquote_plus(request.body.decode(errors="replace"))
    if request.path.startswith("/v2/email"):
        text += base64.b64decode(request.json()["Content"]["Raw"]["Data"]).decode()
    return text


@pytest.fixture
def email_row(patient, settings) -> Callable[[], Notification]:
    settings.CARECORE_PORTAL_URL = "https://portal.carecore.example"

    def create() -> Notification:
        row = notify_one(patient.user, Channel.EMAIL)
        assert row is not None
        return row

    return create


def _use(settings, provider: str, url: str) -> None:
    settings.EMAIL_BACKEND = EMAIL_BACKENDS[provider]
    settings.ANYMAIL = PROVIDERS[provider]["anymail"](url)


@time_machine.travel(NOON_NY, tick=False)
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_provider_receives_the_email_with_the_notification_id(
    provider, settings, email_row, patient
):
    spec = PROVIDERS[provider]
    with stub_server(spec["ok"]) as server:
        _use(settings, provider, server.url)
        row = email_row()

        assert notification_deliver(notification_id=row.id) == "sent"

    (request,) = server.requests
    header, expected = spec["auth"]
    sent = _body_text(request)
    assert request.method == "POST" and request.path == spec["path"]
    assert request.headers[header].startswith(expected)
    assert patient.user.email in sent
    assert "Appointment reminder" in sent
    assert "https://portal.carecore.example/visits/1/" in sent
    assert str(row.id) in sent  # Message-ID and metadata: the provider's copy names the row
    assert patient.user.first_name not in sent and patient.user.last_name not in sent
    row.refresh_from_db()
    assert row.status == Status.SENT


@time_machine.travel(NOON_NY, tick=False)
@pytest.mark.parametrize(
    ("status", "outcome"),
    [(422, Status.FAILED), (401, Status.FAILED), (429, Status.PENDING), (503, Status.PENDING)],
)
def test_a_refusal_fails_at_once_and_an_outage_is_retried(status, outcome, settings, email_row):
    refusal = {"ErrorCode": 300, "Message": "Invalid 'To' address: 'patient@example.test'."}
    with stub_server(lambda _request: Reply(status=status, body=refusal)) as server:
        _use(settings, "postmark", server.url)
        row = email_row()

        assert notification_deliver(notification_id=row.id) == outcome

    row.refresh_from_db()
    assert row.status == outcome
    assert "patient@example.test" not in row.last_error  # the provider's text is not kept
    if outcome == Status.FAILED:
        assert row.last_error in ("recipient_refused", f"provider_refused:{status}")
    else:
        assert row.last_error == f"provider_unavailable:{status}"


@time_machine.travel(NOON_NY, tick=False)
def test_a_recipient_the_provider_has_marked_inactive_fails_without_retries(settings, email_row):
    inactive = {
        "ErrorCode": 406,
        "Message": "You tried to send to a recipient that has been marked as inactive.\n"
        "Found inactive addresses: patient@example.test.\n"
        "Inactive recipients are ones that have generated a hard bounce or a spam complaint.",
    }
    with stub_server(lambda _request: Reply(status=422, body=inactive)) as server:
        _use(settings, "postmark", server.url)
        row = email_row()

        assert notification_deliver(notification_id=row.id) == Status.FAILED
