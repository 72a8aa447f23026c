"""A Redis failover in the middle of a run, through a real Sentinel: nothing lost, nothing sent
twice, and the web keeps serving.

Every process CareCore runs is configured with `REDIS_URL=sentinel://...` and
`REDIS_SENTINEL_MASTER` only: a uvicorn web server, a Celery worker consuming every queue and
`run_beat` (the sweeper every second; a lost routine delivery is re-published after 5 s instead
of the shipped 120 s, so the test does not wait minutes). The care team replies to a patient
over the API; each reply writes an e-mail outbox row and publishes its delivery to the broker.
Half-way, the Redis master is killed (SIGKILL: no goodbye, no last replication) and the
sentinels promote the replica while replies keep coming. Meanwhile a prober reads the web
(`/healthz` and the patient's thread) without pause.

Afterwards every reply's e-mail was delivered exactly once: its row is `sent` with one
attempt, its file is there, and the counting backend was called once for it. Every probe
answered 200; how long the slowest took is printed (docs/scaling.md, "Redis with Sentinel").
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import transaction

from carecore.accounts.models import Clinician, Patient
from carecore.accounts.services import token_issue
from carecore.notifications.models import AttemptOutcome, Channel, Event, Notification, Status
from carecore.settings.redis_urls import redis_database_url
from tests.common.test_run_beat import run_beat, started_beat
from tests.factories import PatientFactory
from tests.notifications.counting_backends import sends
from tests.notifications.helpers import use_file_backends
from tests.realtime.conftest import open_thread
from tests.sentinel_cluster import MASTER_NAME, SentinelCluster, running_sentinel_cluster
from tests.servers import api_call, running_web
from tests.worker import broker_at, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REPLIES_PER_PHASE = 5
# The test settings' broker database (carecore/settings/test.py), on whichever node is master.
TEST_BROKER_DATABASE = 10


@pytest.fixture
def patient(clinician: Clinician) -> Patient:
    # In a transaction: the care-team assignment locks clinician rows (select_for_update).
    with transaction.atomic():
        return PatientFactory(user__email="patient@example.test", state="NY")


@pytest.fixture
def sentinel_cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    with running_sentinel_cluster(tmp_path) as cluster:
        yield cluster


@dataclass
class Probe:
    path: str
    started: float
    seconds: float
    status: int | None  # None: no HTTP answer at all


@dataclass
class WebProber:
    """Reads the web without pause from a thread, as patients would during the failover."""

    base: str
    token: str
    paths: list[str]
    probes: list[Probe] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _get(self, path: str) -> int | None:
        request = urllib.request.Request(  # noqa: S310
            f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return None

    def run(self) -> None:
        while not self.stop.is_set():
            for path in self.paths:
                started = time.monotonic()
                status = self._get(path)
                self.probes.append(Probe(path, started, time.monotonic() - started, status))
            time.sleep(0.05)


def _reply(base: str, token: str, thread_id: object, number: int) -> str:
    status, body = api_call(
        base, token, "POST", f"/api/v1/threads/{thread_id}/messages/", {"body": f"Reply {number}."}
    )
    assert status == 201, (number, status, body)
    return str(body["id"])


def _emails() -> list[Notification]:
    """The e-mails about the replies: to the patient, and to the rest of the care team."""
    return list(Notification.objects.filter(event=Event.MESSAGE_RECEIVED, channel=Channel.EMAIL))


def _all_sent(patient: Patient, replies: list[str]) -> bool:
    rows = _emails()
    to_patient = [row for row in rows if row.recipient_id == patient.user_id]
    return len(to_patient) == len(replies) and all(row.status == Status.SENT for row in rows)


def test_a_failover_mid_run_loses_and_duplicates_no_notification_and_the_web_keeps_serving(
    sentinel_cluster: SentinelCluster,
    patient: Patient,
    clinician: Clinician,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    # Every process started below finds Redis through the sentinels, and only through them.
    monkeypatch.setenv("REDIS_URL", sentinel_cluster.url)
    monkeypatch.setenv("REDIS_SENTINEL_MASTER", MASTER_NAME)
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "CHANNEL_LAYER_URL"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"TEST_{name}", raising=False)
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS", "")  # any time of day
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""  # this process opens the thread
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", "1")
    monkeypatch.setenv("TEST_NOTIFICATIONS_REQUEUE_AFTER_SECONDS", "5")
    outboxes = use_file_backends(monkeypatch, tmp_path)
    monkeypatch.setenv(
        "TEST_EMAIL_BACKEND", "tests.notifications.counting_backends.CountingFileEmailBackend"
    )
    broker_url = redis_database_url(sentinel_cluster.url, TEST_BROKER_DATABASE)

    thread = open_thread(patient)
    patient_token, clinician_token = (
        token_issue(user=patient.user),
        token_issue(user=clinician.user),
    )
    replies: list[str] = []
    with ExitStack() as stack:
        # This process pings the worker through the same sentinels.
        stack.enter_context(broker_at(broker_url, {"master_name": MASTER_NAME}))
        base = stack.enter_context(running_web("sentinel"))
        stack.enter_context(running_worker(concurrency=2, log_name="sentinel-worker"))
        _, beat_log = stack.enter_context(run_beat(tmp_path, "sentinel-beat"))
        assert wait_until(lambda: started_beat(beat_log), timeout=60), beat_log.read_text()

        prober = WebProber(
            base, patient_token, ["/healthz", f"/api/v1/threads/{thread.id}/messages/"]
        )
        probing = threading.Thread(target=prober.run, daemon=True)
        probing.start()
        stack.callback(probing.join, 60)
        stack.callback(prober.stop.set)

        replies += [_reply(base, clinician_token, thread.id, n) for n in range(REPLIES_PER_PHASE)]
        assert wait_until(lambda: _all_sent(patient, replies), timeout=60), "not delivered before"
        old_master = redis.Redis(port=sentinel_cluster.master_port, db=TEST_BROKER_DATABASE)
        assert old_master.exists("_kombu.binding.deliveries"), "the broker is not on the master"

        failed_at = time.monotonic()
        sentinel_cluster.master.kill()
        replies += [
            _reply(base, clinician_token, thread.id, n)
            for n in range(REPLIES_PER_PHASE, 2 * REPLIES_PER_PHASE)
        ]
        assert wait_until(sentinel_cluster.replica_promoted, timeout=30), "no promotion"
        promoted_at = time.monotonic()
        replies += [
            _reply(base, clinician_token, thread.id, n)
            for n in range(2 * REPLIES_PER_PHASE, 3 * REPLIES_PER_PHASE)
        ]

        assert wait_until(lambda: _all_sent(patient, replies), timeout=90), [
            (row.id, row.status) for row in _emails()
        ]
        delivered_at = time.monotonic()
        time.sleep(2)  # a duplicate delivery still in flight would land now

    rows = _emails()
    to_patient = [row.occurrence for row in rows if row.recipient_id == patient.user_id]
    assert sorted(to_patient) == sorted(replies)  # one e-mail to the patient per reply
    ids = sorted(str(row.id) for row in rows)
    assert sorted(path.stem for path in outboxes.emails()) == ids
    assert sorted(sends(outboxes.mail)) == ids, Counter(sends(outboxes.mail)).most_common(3)
    assert outboxes.partials() == []
    for row in rows:
        assert [attempt.outcome for attempt in row.attempts.all()] == [AttemptOutcome.SENT]

    # The replies during the failover could not wake the announcer: beat's sweep announced them
    # (messaging/announcements.py), and the e-mails were delivered all the same (above).
    web_log = (ROOT / "var" / "test-logs" / f"web-sentinel-{os.getpid()}.log").read_text()
    assert "announcement wake-up failed" in web_log

    assert prober.probes, "the prober never ran"
    failures = [probe for probe in prober.probes if probe.status != 200]
    slowest = max(prober.probes, key=lambda probe: probe.seconds)
    print(  # the figures docs/scaling.md quotes
        f"promotion after {promoted_at - failed_at:.1f} s, all delivered after "
        f"{delivered_at - failed_at:.1f} s; {len(prober.probes)} probes, slowest "
        f"{slowest.seconds:.2f} s ({slowest.path}, {slowest.started - failed_at:+.1f} s)"
    )
    assert failures == []
