"""SMS through Twilio's SDK at the HTTP boundary: the SDK's own HTTP client sends the request to a
recording server on 127.0.0.1 instead of api.twilio.com."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import pytest
import time_machine
from twilio.http.http_client import TwilioHttpClient

from carecore.notifications.errors import PermanentDeliveryError
from carecore.notifications.models import Channel, Status
from carecore.notifications.services import notification_deliver
from carecore.notifications.sms import SmsMessage, TwilioSmsBackend

from .helpers import notify_one
from .http_stub import Recorded, Reply, stub_server

NOON_NY = "2026-06-10T16:00:00Z"
SID = "AC" + "0" * 32


class LocalTwilioHttpClient(TwilioHttpClient):
    """The SDK's requests-based client, sending to `base_url` instead of Twilio's hosts."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=5)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(
            method, url.replace("https://api.twilio.com", self.base_url), *args, **kwargs
        )


def _created(request: Recorded) -> Reply:
    form = parse_qs(request.body.decode())
    return Reply(
        status=201,
        body={"sid": "SM" + "1" * 32, "status": "queued", "to": form["To"][0], "body": "x"},
    )


@pytest.fixture
def twilio(settings):
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_FROM_NUMBER = "+12125550199"


def _form(request: Recorded) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body.decode()).items()}


def test_it_creates_a_message_with_the_account_credentials(twilio):
    with stub_server(_created) as server:
        backend = TwilioSmsBackend(http_client=LocalTwilioHttpClient(server.url))
        backend.send(
            SmsMessage(
                to="+12125550100", body="You have a new secure message.", idempotency_key="k"
            )
        )

    (request,) = server.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:twilio-token".encode()).decode()
    )
    assert _form(request) == {
        "To": "+12125550100",
        "From": "+12125550199",
        "Body": "You have a new secure message.",
    }


def test_a_messaging_service_is_the_sender_when_configured(twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    with stub_server(_created) as server:
        TwilioSmsBackend(http_client=LocalTwilioHttpClient(server.url)).send(
            SmsMessage(to="+12125550100", body="Hi", idempotency_key="k")
        )

    form = _form(server.requests[0])
    assert form["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in form


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (429, False), (500, False)])
def test_refusals_are_permanent_and_outages_are_retried_without_quoting_the_number(
    twilio, status, permanent
):
    error = {
        "code": 21211,
        "message": "The 'To' number +12125550100 is not valid.",
        "status": status,
    }
    with stub_server(lambda _request: Reply(status=status, body=error)) as server:
        backend = TwilioSmsBackend(http_client=LocalTwilioHttpClient(server.url))
        with pytest.raises(Exception) as raised:
            backend.send(SmsMessage(to="+12125550100", body="Hi", idempotency_key="k"))

    assert isinstance(raised.value, PermanentDeliveryError) is permanent
    assert "+12125550100" not in str(raised.value)


@pytest.mark.django_db
@time_machine.travel(NOON_NY, tick=False)
def test_an_outbox_row_is_delivered_through_twilio(twilio, settings, patient, monkeypatch):
    patient.user.phone = "+12125550100"
    patient.user.save()
    settings.CARECORE_SMS_BACKEND = "carecore.notifications.sms.TwilioSmsBackend"
    with stub_server(_created) as server:
        monkeypatch.setattr(
            "carecore.notifications.sms.TwilioHttpClient",
            lambda timeout: LocalTwilioHttpClient(server.url),
        )
        sms = notify_one(patient.user, Channel.SMS)
        assert sms is not None

        assert notification_deliver(notification_id=sms.id) == "sent"

    assert _form(server.requests[0])["To"] == "+12125550100"
    sms.refresh_from_db()
    assert sms.status == Status.SENT
