"""A Redis outage degrades CareCore; it does not take it down.

A real uvicorn process runs against a throwaway redis-server (cache, throttle counts, broker and
channel layer all on it), which the test then kills: sign-in, an API read and a message send
still succeed, throttles still brake (counting in the process, with a warning in the log that
carries no patient data), the notifications wait in the outbox, and /readyz answers 200
"degraded" so the load balancer keeps the process. Only the database makes /readyz fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from carecore.accounts.models import Clinician, Patient
from carecore.notifications.models import Channel, Notification, Status
from messaging.models import Announcement
from tests.local_servers import ThrowawayRedis
from tests.servers import api_call, running_web

from ..factories import TEST_PASSWORD
from ..outbox import announce

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/api/v1/auth/login/"
MESSAGE_BODY = "The rash on my left forearm is spreading"


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _everything_on(server: ThrowawayRedis, **more: str) -> dict[str, str]:
    url = f"redis://127.0.0.1:{server.port}"
    return {
        "REDIS_URL": url,
        "TEST_CACHE_URL": f"{url}/1",
        "TEST_CELERY_BROKER_URL": f"{url}/0",
        "TEST_CHANNEL_LAYER_URL": f"{url}/2",
        **more,
    }


def _sign_in(base: str) -> tuple[int, dict]:
    body = {"email": "patient@example.test", "password": TEST_PASSWORD}
    return api_call(base, "", "POST", LOGIN, body)


def _web_log(name: str) -> str:
    return "\n".join(
        path.read_text() for path in (ROOT / "var" / "test-logs").glob(f"web-{name}-*")
    )


def test_sign_in_reads_and_message_sends_keep_working_with_redis_stopped(
    patient: Patient, clinician: Clinician, throwaway_redis: ThrowawayRedis
) -> None:
    env = _everything_on(throwaway_redis, CARECORE_THROTTLE_AUTH="6/min")
    with running_web("redis-outage", env) as base:
        status, signed_in = _sign_in(base)
        assert status == 200
        token = signed_in["token"]
        status, thread = api_call(
            base,
            token,
            "POST",
            "/api/v1/threads/",
            {"subject": "Rash", "category": "clinical", "body": "It started on Monday."},
        )
        assert status == 201
        assert api_call(base, "", "GET", "/readyz")[1]["status"] == "ok"

        throwaway_redis.stop()
        stopped_at = timezone.now()

        status, signed_in_again = _sign_in(base)
        assert status == 200, signed_in_again
        token = signed_in_again["token"]
        status, me = api_call(base, token, "GET", "/api/v1/me/")
        assert status == 200
        assert me["email"] == "patient@example.test"
        status, messages = api_call(base, token, "GET", f"/api/v1/threads/{thread['id']}/messages/")
        assert status == 200
        # The patient's message (after care-team hours, an automatic reply follows it).
        written = [item for item in messages["results"] if item["sender_kind"] != "system"]
        assert len(written) == 1
        status, sent = api_call(
            base,
            token,
            "POST",
            f"/api/v1/threads/{thread['id']}/messages/",
            {"body": MESSAGE_BODY},
        )
        assert status == 201, sent

        # Live updates pause (no tickets for new sockets); the event list still answers.
        status, refused = api_call(base, token, "POST", "/api/v1/realtime/tickets/")
        assert (status, refused["error"]["code"]) == (503, "realtime_unavailable")
        assert api_call(base, token, "GET", "/api/v1/events/")[0] == 200

        status, ready = api_call(base, "", "GET", "/readyz")
        assert status == 200
        assert ready == {
            "status": "degraded",
            "checks": {"database": "ok", "redis": "degraded", "broker": "degraded"},
        }

        # Throttles still brake, counted in this process: two sign-ins so far, four more fit
        # the window (or fewer, if the minute turned over: then the limit is met later).
        statuses = [_sign_in(base)[0] for _ in range(8)]
        assert 429 in statuses
        assert set(statuses) <= {200, 429}

    # The message waits to be announced (its wake-up failed; beat's sweep runs the announcer
    # once Redis is back), and then its e-mail to the care team waits in the outbox for a broker
    # and a worker.
    assert Announcement.objects.filter(message_id=sent["id"]).exists()
    assert announce() == 2  # the thread's first message's too: no worker ran in this test
    waiting = Notification.objects.filter(
        recipient=clinician.user,
        subject_id=thread["id"],
        channel=Channel.EMAIL,
        created_at__gte=stopped_at,
    )
    assert waiting.exists()
    assert set(waiting.values_list("status", flat=True)) == {Status.PENDING}
    log = _web_log("redis-outage")
    assert "Redis did not answer the throttle" in log
    assert "announcement wake-up failed" in log
    assert MESSAGE_BODY not in log
    assert "patient@example.test" not in log


def test_readyz_fails_when_the_database_does_not_answer(throwaway_redis: ThrowawayRedis) -> None:
    env = _everything_on(
        throwaway_redis, DATABASE_URL="postgres://postgres@127.0.0.1:1/carecore_nowhere"
    )
    with running_web("database-down", env) as base:
        status, ready = api_call(base, "", "GET", "/readyz")

    assert status == 503
    assert ready["status"] == "unavailable"
    assert ready["checks"]["database"] == "unavailable"
    assert ready["checks"]["redis"] == "ok"
