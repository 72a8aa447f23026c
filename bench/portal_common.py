"""Shared set-up for benchmarks that need Django and a database (portal, intake): a throw-away
`carecore_bench` database on the same PostgreSQL the dev bootstrap uses (embedded unless
DATABASE_URL is set), migrated from scratch.

Only a database named `carecore_bench` is ever dropped.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "carecore_bench"
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]


def bootstrap(stack: ExitStack) -> None:
    """Start (or reuse) PostgreSQL and Redis, recreate the bench database, set up Django."""
    import dev  # scripts/dev.py

    dev.services_up(stack)
    parts = urlsplit(os.environ["DATABASE_URL"])
    _recreate_database(parts)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "carecore.settings.test"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _recreate_database(parts) -> None:
    import environ
    import psycopg

    config = environ.Env.db_url_config(urlunsplit(parts._replace(path="/postgres")))
    with closing(
        psycopg.connect(
            # A socket directory arrives as ?host= (scripts/dev.py) or percent-encoded in the
            # host part (see settings/base.py).
            host=config.get("OPTIONS", {}).get("host") or unquote(config["HOST"]) or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        )
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, PostgreSQL {server_version} (embedded, same host), "
        f"load average {os.getloadavg()[0]:.1f} when measured"
    )


def timed(function: Callable[[], object], *, repeat: int = 30, warmup: int = 3) -> dict[str, float]:
    """Median and 95th percentile wall time of `function`, in milliseconds."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
    }
