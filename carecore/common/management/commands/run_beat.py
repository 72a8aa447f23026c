"""Run Celery beat only while holding a cluster-wide lock, so two beats never run at once.

Two beats would send every periodic task twice. Compose never scales beat and Kubernetes runs
one replica with the Recreate strategy, but during a rollout, a node partition or a human's
`kubectl scale`, a second one can start. This command takes a PostgreSQL advisory lock on a
connection of its own before starting beat; a second copy waits for it. If the lock's connection
is lost (database restart, network), this process exits at once and the orchestrator restarts it,
so a beat never runs without the lock.

Session-level advisory locks need a direct connection: point DATABASE_URL of the beat process at
PostgreSQL itself, not at pgbouncer in transaction mode (docs/scaling.md).

    python manage.py run_beat --schedule var/celerybeat-schedule --loglevel INFO
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import psycopg
from celery.apps.beat import Beat
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from carecore.celery import app

logger = logging.getLogger(__name__)

# Any fixed 64-bit number, the same in every CareCore process: "the beat lock".
BEAT_LOCK_KEY = 0x6361726563_6F7265  # "carecore"
LOST_LOCK_EXIT_STATUS = 3


class BeatLock:
    """A PostgreSQL advisory lock held on its own autocommit connection."""

    def __init__(self, connection_params: dict[str, Any]) -> None:
        self._params = connection_params
        self._connection: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(**self._params, autocommit=True)
        row = self._connection.execute(
            "SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]
        ).fetchone()
        return bool(row and row[0])

    def still_held(self) -> bool:
        try:
            assert self._connection is not None
            row = self._connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objid = (%s::bigint & 4294967295)::oid",
                [BEAT_LOCK_KEY],
            ).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])


def connection_params() -> dict[str, Any]:
    """psycopg.connect() arguments for the default database, as Django would connect."""
    params = dict(connections["default"].get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return params


def exit_when_the_lock_is_lost(lock: BeatLock, interval: float) -> None:
    while True:
        time.sleep(interval)
        if not lock.still_held():
            logger.error("beat lock lost: stopping beat so that no second beat can overlap")
            os._exit(LOST_LOCK_EXIT_STATUS)


class Command(BaseCommand):
    help = "Run Celery beat while holding the cluster-wide beat lock (exactly one beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schedule", default="var/celerybeat-schedule")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--wait-interval", type=float, default=5.0)
        parser.add_argument("--check-interval", type=float, default=10.0)

    def handle(self, *args: Any, **options: Any) -> None:
        lock = BeatLock(connection_params())
        announced = False
        while not lock.try_acquire():
            if not announced:
                logger.warning("another beat holds the beat lock; waiting to take over")
                announced = True
            time.sleep(options["wait_interval"])
        logger.info("beat lock acquired; starting celery beat")
        threading.Thread(
            target=exit_when_the_lock_is_lost,
            args=(lock, options["check_interval"]),
            name="beat-lock-watchdog",
            daemon=True,
        ).start()
        Beat(app=app, schedule=options["schedule"], loglevel=options["loglevel"]).run()
