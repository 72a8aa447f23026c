"""Exactly one beat: a second `run_beat` waits for the lock, and takes over when the first dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from tests.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@contextmanager
def run_beat(tmp_path: Path, name: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log_path = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.test",
        "CARECORE_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_beat",
                "--schedule",
                str(tmp_path / name),
                "--wait-interval",
                "0.2",
                "--check-interval",
                "0.2",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def started_beat(log_path: Path) -> bool:
    return "beat lock acquired" in log_path.read_text(errors="replace")


def test_a_second_beat_waits_and_takes_over_when_the_first_dies(tmp_path: Path) -> None:
    with run_beat(tmp_path, "first") as (first, first_log):
        assert wait_until(lambda: started_beat(first_log), timeout=60), first_log.read_text()
        with run_beat(tmp_path, "second") as (second, second_log):
            assert wait_until(
                lambda: "another beat holds the beat lock" in second_log.read_text(), timeout=60
            ), second_log.read_text()
            assert not started_beat(second_log)

            os.killpg(first.pid, signal.SIGKILL)  # a crash: no clean release
            first.wait(timeout=10)

            assert wait_until(lambda: started_beat(second_log), timeout=30), second_log.read_text()
            assert second.poll() is None


def test_a_beat_that_loses_its_lock_connection_stops_at_once(tmp_path: Path) -> None:
    with run_beat(tmp_path, "only") as (beat, log_path):
        assert wait_until(lambda: started_beat(log_path), timeout=60), log_path.read_text()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            )
        assert wait_until(lambda: beat.poll() is not None, timeout=30), log_path.read_text()
        assert beat.returncode == 3
