"""Shared set-up for the messaging benchmarks: embedded PostgreSQL/Redis and a bench database.

The benchmarks use their own databases (`carecore_bench_<size>`) on the embedded server that
`make run`/`make test` start, so they never touch the development or test data.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def _dev_module() -> Any:
    spec = importlib.util.spec_from_file_location("carecore_dev", ROOT / "scripts" / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def services() -> Iterator[Any]:
    """Start (or reuse) embedded PostgreSQL and Redis; stop them afterwards if we started them."""
    dev = _dev_module()
    with contextlib.ExitStack() as stack:
        dev.services_up(stack)
        yield dev
        stack.close()


def database_url(name: str) -> str:
    base = os.environ["DATABASE_URL"]
    parsed = urlparse(base)
    return parsed._replace(path=f"/{name}").geturl()


def socket_dir() -> str:
    query = parse_qs(urlparse(os.environ["DATABASE_URL"]).query)
    return query["host"][0]


def create_database(name: str, *, fresh: bool) -> bool:
    """Create `name` (dropping it first when `fresh`); True when it had to be created."""
    import psycopg

    with psycopg.connect(
        host=socket_dir(), user="postgres", dbname="postgres", autocommit=True
    ) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            c.execute(f'CREATE DATABASE "{name}"')
            return True
    return False


def env_for(name: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(name),
        DJANGO_SETTINGS_MODULE="carecore.settings.local",
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def manage(name: str, *args: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env_for(name), check=True)


def run_self(script: str, name: str, *args: str, **extra: str) -> str:
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env_for(name, **extra),
        check=True,
        capture_output=True,
        text=True,
    )
    sys.stderr.write(result.stderr)
    return result.stdout
