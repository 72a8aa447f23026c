"""The web processes set their long-lived heap aside from full garbage collections
(carecore/common/gc_freeze.py): at start, and once more after their first requests."""

import gc
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.signals import request_finished
from django.test import Client

from carecore.common.gc_freeze import FreezeAfterRequests, freeze_after_requests
from tests.realtime.test_uvicorn import ROOT, running_uvicorn

FREEZE_LOG = "carecore.common.gc_freeze"


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Each test starts with nothing frozen and gives the test process its heap back after."""
    gc.unfreeze()
    yield
    gc.unfreeze()
    request_finished.disconnect(dispatch_uid="carecore-gc-freeze")


def _freezes(caplog: pytest.LogCaptureFixture) -> int:
    return sum(record.name == FREEZE_LOG for record in caplog.records)


def test_the_heap_is_frozen_at_the_nth_finished_request_and_only_then(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=FREEZE_LOG)
    receiver = FreezeAfterRequests(3)
    receiver()
    receiver()
    assert gc.get_freeze_count() == 0

    receiver()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    assert _freezes(caplog) == 1

    # Later requests freeze nothing more: objects made since stay collectable. (The frozen
    # count can still fall: a frozen object whose last reference goes, say in another thread of
    # the test process, is freed as any other. Another freeze would add these 1,000.)
    made_since = [object() for _ in range(1000)]
    receiver()
    assert gc.get_freeze_count() <= frozen
    assert _freezes(caplog) == 1
    del made_since


def test_threads_finishing_requests_together_freeze_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=FREEZE_LOG)
    receiver = FreezeAfterRequests(100)
    start = threading.Barrier(8)

    def finish_requests() -> None:
        start.wait()
        for _ in range(50):
            receiver()

    threads = [threading.Thread(target=finish_requests) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert receiver.frozen
    assert _freezes(caplog) == 1


@pytest.mark.django_db
def test_request_finished_counts_the_requests_a_process_serves() -> None:
    receiver = freeze_after_requests(2)
    assert receiver is not None
    client = Client()

    client.get("/healthz")
    assert not receiver.frozen
    client.get("/healthz")
    assert receiver.frozen
    assert gc.get_freeze_count() > 0


def test_zero_requests_means_at_start_only() -> None:
    receivers = len(request_finished.receivers)
    assert freeze_after_requests(0) is None
    assert len(request_finished.receivers) == receivers


def test_a_real_web_process_freezes_at_start_and_after_its_first_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARECORE_GC_FREEZE_AFTER_REQUESTS", "5")
    with running_uvicorn("gc-freeze") as host:
        log = _uvicorn_log("gc-freeze")
        assert _log_lines(log) == 1, "frozen once the application is loaded"
        # The readiness probe already counted as requests; a few more pass the fifth.
        for _ in range(5):
            with urllib.request.urlopen(f"http://{host}/healthz", timeout=5) as response:
                assert response.status == 200
        # The freeze runs as the fifth request finishes, after its answer is sent.
        _wait_for(lambda: _log_lines(log) == 2, "frozen again after the fifth request")
        for _ in range(5):
            with urllib.request.urlopen(f"http://{host}/healthz", timeout=5) as response:
                assert response.status == 200
        time.sleep(0.5)
        assert _log_lines(log) == 2, "and not again"


def _uvicorn_log(name: str) -> Path:
    return ROOT / "var" / "test-logs" / f"uvicorn-{name}-{os.getpid()}.log"


def _log_lines(path: Path) -> int:
    return sum("gc.freeze:" in line for line in path.read_text(encoding="utf-8").splitlines())


def _wait_for(condition: Callable[[], bool], message: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
