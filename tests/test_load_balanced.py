"""Beyond one process: two web servers behind a real load balancer (Debian's haproxy), a worker
per queue and one locked beat, all on the suite's PostgreSQL and Redis.

Through the balancer, a patient's live feed (held by one web server) receives every reply the
care team posts (each request landing on either server, round-robin), gapless and in order; a
crisis message pages the on-call clinician, and the urgent queue's worker delivers the page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from carecore.accounts.models import Clinician, Patient
from carecore.accounts.services import token_issue
from tests.local_servers import free_port
from tests.notifications.helpers import use_file_backends
from tests.realtime.conftest import open_thread
from tests.realtime.test_uvicorn import api_post, next_event, open_feed, running_uvicorn
from tests.worker import running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HAPROXY_CONFIG = """
global
    maxconn 256
defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
frontend carecore
    bind 127.0.0.1:{port}
    default_backend web
backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz hdr Host localhost
{servers}
"""


@contextmanager
def running_haproxy(backends: list[str], tmp_path: Path) -> Iterator[str]:
    haproxy = os.environ.get("CARECORE_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.fail("haproxy is not installed: apt-get install haproxy (make test installs it)")
    port = free_port()
    servers = "\n".join(
        f"    server web{number} {backend} check inter 500ms"
        for number, backend in enumerate(backends, start=1)
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
    process = subprocess.Popen(
        [haproxy, "-f", str(config), "-db"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host = f"127.0.0.1:{port}"
    try:
        from tests.realtime.test_uvicorn import _answers

        assert wait_until(lambda: _answers(host), timeout=30)
        yield host
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def running_beat(tmp_path: Path) -> Iterator[None]:
    from tests.common.test_run_beat import run_beat, started_beat

    with run_beat(tmp_path, "beat") as (_, log_path):
        assert wait_until(lambda: started_beat(log_path), timeout=60)
        yield


def test_two_web_servers_behind_haproxy_with_a_worker_per_queue_and_one_beat(
    patient: Patient,
    clinician: Clinician,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outboxes = use_file_backends(monkeypatch, tmp_path)
    thread = open_thread(patient)
    patient_token, clinician_token = (
        token_issue(user=patient.user),
        token_issue(user=clinician.user),
    )
    with ExitStack() as stack:
        webs = [stack.enter_context(running_uvicorn(f"balanced-{n}")) for n in (1, 2)]
        for queues in (("urgent",), ("deliveries",), ("reminders", "exports", "celery")):
            stack.enter_context(running_worker(queues=queues, log_name=f"worker-{queues[0]}"))
        stack.enter_context(running_beat(tmp_path))
        balancer = stack.enter_context(running_haproxy(webs, tmp_path))
        feed = stack.enter_context(open_feed(balancer, patient_token))

        replies = [
            api_post(
                balancer,
                f"/api/v1/threads/{thread.id}/messages/",
                clinician_token,
                {"body": f"Reply {number}."},
            )
            for number in range(4)
        ]
        events: list[dict[str, Any]] = []  # every event up to the last reply's message.created
        while sum(event["type"] == "message.created" for event in events) < len(replies):
            events.append(next_event(feed))

        # The first screen in a server process builds the triage pipeline: allow for it.
        crisis = api_post(
            balancer,
            f"/api/v1/threads/{thread.id}/messages/",
            patient_token,
            {"body": "I can't go on, I want to end my life."},
        )
        # The on-call page is urgent: it ignores quiet hours and goes through the urgent queue.
        assert wait_until(lambda: len(outboxes.emails()) >= 1, timeout=60), "no page delivered"

    created = [event for event in events if event["type"] == "message.created"]
    assert [event["data"]["message_id"] for event in created] == [reply["id"] for reply in replies]
    sequence = [event["seq"] for event in events]
    assert sequence == list(range(sequence[0], sequence[0] + len(sequence)))
    assert crisis["id"]
