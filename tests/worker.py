"""A real Celery worker process for end-to-end tests.

Tests that use it must commit their data (`@pytest.mark.django_db(transaction=True)`): the worker
is another process with its own database connection, pointed at the suite's test database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from carecore.celery import app
from carecore.common.shared_cache import shared_cache
from messaging.announcements import WAKE_KEY

ROOT = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).parent / "celery"


def purge_broker() -> None:
    """Drop tasks a previous test left in the test broker database, and the mark of a queued
    announcer wake-up (which would keep the next send from queueing one for a few seconds)."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    shared_cache().delete(WAKE_KEY)


def wait_until(condition, *, timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path):
        self.process = process
        self.log_path = log_path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill_hard(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_hard()


@contextmanager
def running_worker(
    *,
    concurrency: int = 1,
    log_name: str = "worker",
    include: tuple[str, ...] = (),
    queues: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> Iterator[WorkerProcess]:
    """Start `celery worker` against the test database and broker; stop it afterwards.
    `include`: extra task modules to load (e.g. test-only tasks); `queues`: the queues it
    consumes (default: every queue, as `make run`'s worker); `extra_env`: variables for the
    worker only (e.g. PGAPPNAME, to find its database connections)."""
    log_dir = ROOT / "var" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{log_name}-{os.getpid()}.log"
    node_name = f"test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.test",
        "CARECORE_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        **(extra_env or {}),
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "carecore",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                f"--queues={','.join(queues or settings.CARECORE_CELERY_QUEUES)}",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                node_name,
                *(f"--include={module}" for module in include),
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill_hard reaches the pool
        )
    worker = WorkerProcess(process, log_path)
    try:
        # Ping this worker by name: with several running, any other's answer proves nothing.
        ready = wait_until(
            lambda: bool(app.control.ping(destination=[node_name], timeout=0.5)), timeout=60
        )
        assert ready, f"celery worker did not start:\n{worker.log}"
        yield worker
    finally:
        worker.stop()


def _reset_broker_connections() -> None:
    # Only drop the app's references: kombu keeps pools in a global registry per URL, and the
    # suite's own broker pool must stay usable afterwards.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str, transport_options: dict[str, Any] | None = None) -> Iterator[None]:
    """Point this process's Celery app (publishing, control) at another broker; a Sentinel
    broker also needs its transport options (`master_name`)."""
    previous = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = url
    if transport_options is not None:
        app.conf.broker_transport_options = {**previous[1], **transport_options}
    _reset_broker_connections()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = previous
        _reset_broker_connections()
