"""Real web server processes for end-to-end tests: gunicorn running uvicorn processes, as
`make run` serves CareCore (the Procfile's web line), on the suite's test database (so tests that
use them commit their data), plus a small JSON client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

from tests.local_servers import free_port
from tests.worker import wait_until

ROOT = Path(__file__).resolve().parent.parent


def web_command(port: int, *options: str) -> list[str]:
    """The Procfile's web line, listening on 127.0.0.1:`port`: gunicorn with the settings every
    launcher uses (carecore/web_server.py: forwarded headers only from CARECORE_TRUSTED_PROXIES,
    a socket per process, no Server header), then gunicorn `options` if any."""
    return [
        *(sys.executable, "-m", "gunicorn", "carecore.asgi:application"),
        *("--config", "python:carecore.web_server", "--bind", f"127.0.0.1:{port}"),
        *options,
    ]


def web_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The test settings on the suite's database, one web process unless `env` says otherwise."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.test",
        "CARECORE_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        "WEB_CONCURRENCY": "1",
        **(env or {}),
    }


@contextmanager
def running_web(
    name: str, env: dict[str, str] | None = None, options: Sequence[str] = ()
) -> Iterator[str]:
    """The web server with the test settings and `env` on top (and gunicorn `options`); yields
    its base URL once /healthz answers, and stops it afterwards. Its output goes to
    var/test-logs/."""
    port = free_port()
    log_dir = ROOT / "var" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"web-{name}-{os.getpid()}.log").open("wb") as log:
        server = subprocess.Popen(
            web_command(port, *options),
            cwd=ROOT,
            env=web_environment(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: status_of(f"{base}/healthz") == 200, timeout=60)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return int(response.status)
    except OSError:
        return None


def api_call(
    base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """(status, JSON body) of one API request with a bearer token."""
    request = urllib.request.Request(  # noqa: S310
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        # 30 s: a fresh server may still be building its triage pipeline on a busy machine.
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"null")
