"""The hot paths under concurrent HTTP load, beside a bare reference, in one run (issue #14).

    .venv/bin/python bench/load_hotpaths.py [--rounds 3] [--duration 15] [--connections 32]
                                            [--paths send,page,inbox] [--panel 50] [--warm-up 10]

What it starts, on the embedded PostgreSQL and Redis of `make run` (a database of its own,
`carecore_bench_load`, made afresh each run):

- the product exactly as `make run` starts it: honcho with the Procfile (web, worker on every
  queue, beat), `carecore.settings.local`, demo data. One change: the per-user throttle rate is
  raised (`CARECORE_THROTTLE_USER`), otherwise the run would measure 429s; the throttle still
  counts every request. The demo patient's care team chooses no quiet hours, so that every
  send's e-mails are delivered during the run at any hour (each product row of a send says how
  many were).
- the bare reference (bench/reference_*.py) under uvicorn with 2 workers on the same database:
  token auth, one ownership check, one write or one keyset read, a DRF serializer.

Then it warms both servers up (each path for `--warm-up` seconds on each, not reported: a web
process's first few hundred requests are its start-up, not what users meet; before 3 Dec 2026
round 1 included them) and drives three paths with wrk (2 threads, N connections), alternating
product and reference, round after round: send (the demo patient posting to one thread, as in a busy
conversation), page (50 messages of that thread) and inbox (the demo clinician's 50 most recent
threads; `--panel` patients, 50 by default, are added to their care team with a thread each, so
the page names 50 patients as a clinic's inbox would, not the demo's eight). It prints
requests/s, p50 and p99 of each, how many connections each server process held halfway through
(`ss`), and the ratio product/reference per round and as the median
over rounds, with the CPU time each request cost the server's processes (the
product's web, worker and beat, the worker's share apart) and PostgreSQL, read from /proc, the
product's counted once its worker has done what the run left it (announcing the messages sent,
delivering what is due): on a machine shared with other
work the CPU per request moves much less than requests/s. Any non-2xx answer is counted and
printed: a run with errors
measures the errors, not the path.

Needs `wrk` (Debian: `apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._messaging_env import PYTHON, ROOT, create_database, database_url, services

DATABASE = "carecore_bench_load"
PRODUCT_PORT = 8190
REFERENCE_PORT = 8191
LUA = Path(__file__).resolve().parent / "wrk" / "request.lua"
DEMO_PASSWORD = "carecore-demo"
FILL_MESSAGES = 200

# A clinic's inbox, not the demo's: the demo's eight patients write at most eight audit events
# per inbox page, a real page of 50 threads names up to 50 patients (one LIST event each).
# New York patients join clinician@'s care team (demo/management/commands/seed_demo.py), and
# each opens one thread through the product's services (triage, audit, announcement).
_PANEL_SEED = """
from datetime import date

from carecore.accounts import services
from messaging import services as messaging

for number in range({count}):
    patient = services.patient_register(
        email=f"bench-panel-{{number}}@demo.carecore.test",
        password="bench-panel-passphrase",
        first_name="Panel",
        last_name=f"Patient {{number}}",
        date_of_birth=date(1990, 1, 1),
        state="NY",
        timezone_name="America/New_York",
        enforce_password_policy=False,
    )
    messaging.thread_open(
        actor=patient.user, subject="Skin question", category="clinical",
        body="Is it fine to keep using the cream twice a day?",
    )
"""


# E-mail being delivered, whatever the hour of the run: the demo patient's care team, whom each
# of the patient's messages e-mails, chooses no quiet hours (the product's own setting, as on-call
# staff would). Otherwise a run in the clinic's night (21:00-08:00 by default, in New York's time)
# would only hold their e-mail until morning and measure none of its delivery.
_NO_QUIET_HOURS = """
from carecore.accounts.models import Patient
from carecore.notifications.services import notification_preferences_set

patient = Patient.objects.get(user__email="patient@demo.carecore.test")
for membership in patient.care_team.memberships.select_related("user"):
    notification_preferences_set(user=membership.user, preferences=[], quiet_hours=None)
"""


@dataclass(frozen=True)
class HotPath:
    name: str
    method: str
    product: str
    reference: str
    user: str  # "patient" or "clinician"


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    # CPU per request (ms) of the server's processes (for the product: web, worker and beat) and
    # of PostgreSQL, from /proc: steadier than req/s on a machine shared with other work.
    server_cpu_ms: float = float("nan")
    database_cpu_ms: float = float("nan")
    # Of server_cpu_ms, the Celery worker's share (the product's announcer and deliveries).
    worker_cpu_ms: float = float("nan")
    # Seconds the worker took after wrk ended to finish the work the run left it (announcing the
    # messages sent, delivering what is due): counted in the CPU per request above.
    settle_seconds: float = 0.0
    # Connections on each of the server's processes halfway through the run (`ss`), busiest
    # first: with one listening socket per process, the kernel spreads them, unevenly at times.
    split: tuple[int, ...] = ()
    # E-mails the product's worker delivered from the start of the run until its backlog was
    # done (with `settle`).
    emails_sent: int = 0


_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(*, root: int) -> tuple[int, int, int]:
    """CPU ticks so far of process `root` and its descendants (a server, or honcho with web,
    worker and beat), of the Celery worker's processes among them, and of the embedded
    PostgreSQL's processes (those running in ROOT/var): (server, worker, database)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    celery: set[int] = set()
    database = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        if "postgres" in stat[: stat.rindex(")")] and cwd.startswith(str(ROOT / "var")):
            database += ticks[pid]
        if _is_celery_worker(entry):
            celery.add(pid)
    server = worker = 0
    for pid, own in ticks.items():
        ancestor = pid
        while ancestor > 1 and ancestor != root:
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            server += own
            worker += own if pid in celery else 0
    return server, worker, database


def _is_celery_worker(entry: Path) -> bool:
    try:
        arguments = (entry / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(argument.endswith(b"celery") for argument in arguments[:2]) and (
        b"worker" in arguments
    )


_BACKLOG = """
    SELECT (SELECT count(*) FROM messaging_announcement)
         + (SELECT count(*) FROM notifications_notification
            WHERE status IN ('pending', 'sending') AND due_at <= now())
"""


_EMAILS_SENT_SINCE = """
    SELECT count(*) FROM notifications_notification
    WHERE channel = 'email' AND status = 'sent' AND sent_at >= %s
"""


def _database_now() -> Any:
    import psycopg

    with psycopg.connect(database_url(DATABASE), autocommit=True) as connection:
        return connection.execute("SELECT now()").fetchone()[0]  # type: ignore[index]


def _emails_sent_since(moment: Any) -> int:
    import psycopg

    with psycopg.connect(database_url(DATABASE), autocommit=True) as connection:
        return connection.execute(_EMAILS_SENT_SINCE, (moment,)).fetchone()[0]  # type: ignore[index]


def _settle(*, timeout: float = 300.0) -> float:
    """Wait until the product's worker has done what the run left it (messages to announce,
    deliveries due now); returns the seconds it took. Its CPU is then counted in the run's."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url(DATABASE), autocommit=True) as connection:
        while time.monotonic() - started < timeout:
            row = connection.execute(_BACKLOG).fetchone()
            if row is None or row[0] == 0:
                break
            time.sleep(0.2)
    return time.monotonic() - started


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(DATABASE),
        DJANGO_SETTINGS_MODULE="carecore.settings.local",
        CARECORE_THROTTLE_USER="100000000/min",
        PATH=f"{PYTHON.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


def _manage(*args: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=_env(), check=True)


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_until_up(port: int, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # A literal http://127.0.0.1 URL (here and below): never file: or a custom scheme.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # nosec B310
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"nothing answered on port {port} within {timeout:.0f} s")


def _wait_until_answering(port: int, path: str, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)  # nosec B310
            return
        except urllib.error.HTTPError:
            return  # it answers (401 without a token is an answer)
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"nothing answered on port {port} within {timeout:.0f} s")


def _api(method: str, path: str, *, token: str | None = None, body: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{PRODUCT_PORT}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read() or b"{}")


def _login(email: str) -> str:
    answer = _api("POST", "/api/v1/auth/login/", body={"email": email, "password": DEMO_PASSWORD})
    return answer["token"]


def _prepare_thread(patient_token: str) -> str:
    thread = _api(
        "POST",
        "/api/v1/threads/",
        token=patient_token,
        body={"subject": "Bench thread", "category": "clinical", "body": "First message."},
    )
    for number in range(FILL_MESSAGES - 1):
        _api(
            "POST",
            f"/api/v1/threads/{thread['id']}/messages/",
            token=patient_token,
            body={"body": f"Filler message {number}."},
        )
    return thread["id"]


_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(
    url: str,
    *,
    method: str,
    token: str,
    duration: int,
    connections: int,
    server_pid: int | None = None,
    settle: bool = False,
) -> Result:
    """One wrk run; with `server_pid`, also the CPU per request of that server's process tree
    and of PostgreSQL (bench/web_processes.py measures CPU its own way and passes none); with
    `settle`, after the worker has finished the work the run left it."""
    started_at = _database_now() if settle else None
    server_before, worker_before, database_before = _cpu_ticks(root=server_pid or 0)
    run = subprocess.Popen(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env={**os.environ, "WRK_METHOD": method, "WRK_TOKEN": token},
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(duration / 2)
    split = _connections_per_process(urlparse(url).port or 80)
    output, _ = run.communicate()
    if run.returncode:
        raise subprocess.CalledProcessError(run.returncode, run.args, output)
    latencies = {int(p): float(v) * _UNIT_MS[u] for p, v, u in _LATENCY.findall(output)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    settle_seconds = _settle() if settle else 0.0
    emails_sent = _emails_sent_since(started_at) if settle else 0
    server_after, worker_after, database_after = _cpu_ticks(root=server_pid or 0)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(group) for group in socket_errors.groups())
    total = re.search(r"(\d+) requests in", output)
    requests = int(total.group(1)) if total else 0
    per_request = _TICK_MS / requests if requests and server_pid else float("nan")
    return Result(
        requests_per_second=float(rate.group(1)) if rate else 0.0,
        p50_ms=latencies.get(50, float("nan")),
        p99_ms=latencies.get(99, float("nan")),
        errors=failed,
        requests=requests,
        server_cpu_ms=(server_after - server_before) * per_request,
        database_cpu_ms=(database_after - database_before) * per_request,
        worker_cpu_ms=(worker_after - worker_before) * per_request,
        settle_seconds=settle_seconds,
        split=split,
        emails_sent=emails_sent,
    )


def _connections_per_process(port: int) -> tuple[int, ...]:
    """Established connections on `port`, counted per process that holds them, busiest first
    (empty where `ss` is missing)."""
    if not shutil.which("ss"):
        return ()
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", listing):
        counts[pid] = counts.get(pid, 0) + 1
    return tuple(sorted(counts.values(), reverse=True))


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _row(name: str, side: str, result: Result) -> str:
    return (
        f"{name:<6} {side:<9} {result.requests_per_second:>8.1f} req/s"
        f"  p50 {result.p50_ms:>7.1f} ms  p99 {result.p99_ms:>7.1f} ms  errors {result.errors}"
        + (f"  connections {'/'.join(map(str, result.split))}" if result.split else "")
        + f"  cpu/request: server {result.server_cpu_ms:>5.2f} ms,"
        f" postgres {result.database_cpu_ms:>5.2f} ms"
        + (
            f" (worker {result.worker_cpu_ms:.2f} ms of the server's;"
            f" its backlog done {result.settle_seconds:.1f} s after the run;"
            f" {result.emails_sent} e-mails delivered)"
            if result.worker_cpu_ms == result.worker_cpu_ms and side == "product"
            else ""
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--paths", default="send,page,inbox")
    parser.add_argument(
        "--panel",
        type=int,
        default=50,
        help="patients added to clinician@'s care team, one thread each (0: the demo's only)",
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=10,
        help="seconds of each path on both servers before round 1, not reported (0: none)",
    )
    parser.add_argument(
        "--debug",
        choices=["on", "off"],
        default="on",
        help="DJANGO_DEBUG of the product (make run: on); the demo is seeded with it on",
    )
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    for port in (PRODUCT_PORT, REFERENCE_PORT):
        if _port_taken(port):
            # Else the run would measure whatever already listens there.
            raise SystemExit(f"port {port} is already in use: stop what listens on it first")
    with services() as dev:
        dev.prepare_writable_dirs()  # as `make run`: var/log/ for the web's request log
        create_database(DATABASE, fresh=True)
        _manage("migrate", "--no-input", "-v0")
        _manage("sync_questionnaires")
        _manage("seed_demo")
        _manage("shell", "-c", _NO_QUIET_HOURS)
        if arguments.panel:
            _manage("shell", "-c", _PANEL_SEED.format(count=arguments.panel))
        product = _start(
            [str(PYTHON.parent / "honcho"), "-f", str(ROOT / "Procfile"), "start"],
            _env(
                PORT=str(PRODUCT_PORT),
                HOST="127.0.0.1",
                DJANGO_DEBUG="true" if arguments.debug == "on" else "false",
            ),
        )
        reference = _start(
            [
                str(PYTHON),
                "-m",
                "uvicorn",
                "bench.reference_asgi:application",
                "--port",
                str(REFERENCE_PORT),
                "--workers",
                "2",
                "--no-access-log",
            ],
            _env(DJANGO_SETTINGS_MODULE="bench.reference_settings"),
        )
        try:
            _wait_until_up(PRODUCT_PORT)
            _wait_until_answering(REFERENCE_PORT, "/bare/threads/")
            return _measure(arguments, product_pid=product.pid, reference_pid=reference.pid)
        finally:
            _stop(product)
            _stop(reference)


def _warm_up(
    paths: list[HotPath], tokens: dict[str, str], *, seconds: int, connections: int
) -> int:
    """Each path on both servers for `seconds`, as the rounds drive them, not reported; returns
    the errors. A web process's first few hundred requests are its start-up, not what users
    meet: they fill its caches, let psycopg prepare each statement after its fifth run, and end
    with the heap's second freeze (carecore/common/gc_freeze.py), before which full collections
    took up to hundreds of milliseconds (docs/benchmarks.md). Measured, they made round 1's p99
    of the first path up to 1,070 ms where the same run's later rounds read 171-293."""
    errors = 0
    for path in paths:
        for port, url in ((PRODUCT_PORT, path.product), (REFERENCE_PORT, path.reference)):
            run = _wrk(
                f"http://127.0.0.1:{port}{url}",
                method=path.method,
                token=tokens[path.user],
                duration=seconds,
                connections=connections,
                settle=port == PRODUCT_PORT,
            )
            errors += run.errors
    print(f"warmed up: each path {seconds} s on both servers ({errors} errors), not reported")
    return errors


def _measure(arguments: argparse.Namespace, *, product_pid: int, reference_pid: int) -> int:
    tokens = {
        "patient": _login("patient@demo.carecore.test"),
        "clinician": _login("clinician@demo.carecore.test"),
    }
    thread = _prepare_thread(tokens["patient"])
    paths = [
        HotPath(
            "send",
            "POST",
            f"/api/v1/threads/{thread}/messages/",
            f"/bare/threads/{thread}/send/",
            "patient",
        ),
        HotPath(
            "page",
            "GET",
            f"/api/v1/threads/{thread}/messages/?page_size=50",
            f"/bare/threads/{thread}/messages/?page_size=50",
            "patient",
        ),
        HotPath(
            "inbox",
            "GET",
            "/api/v1/threads/?page_size=50",
            "/bare/threads/?page_size=50",
            "clinician",
        ),
    ]
    wanted = set(arguments.paths.split(","))
    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    failures = 0
    print(
        f"wrk -t2 -c{arguments.connections} -d{arguments.duration}s, {arguments.rounds} rounds,"
        f" product (make run: web + worker + beat; DEBUG {arguments.debug},"
        f" WEB_CONCURRENCY {os.environ.get('WEB_CONCURRENCY', 'cores')})"
        f" vs bare reference (uvicorn, 2 workers)"
    )
    if arguments.warm_up:
        failures += _warm_up(
            [p for p in paths if p.name in wanted],
            tokens,
            seconds=arguments.warm_up,
            connections=arguments.connections,
        )
    for round_number in range(1, arguments.rounds + 1):
        print(f"--- round {round_number}")
        for path in (p for p in paths if p.name in wanted):
            common = {
                "method": path.method,
                "token": tokens[path.user],
                "duration": arguments.duration,
                "connections": arguments.connections,
            }
            ours = _wrk(
                f"http://127.0.0.1:{PRODUCT_PORT}{path.product}",
                server_pid=product_pid,
                settle=True,
                **common,
            )
            bare = _wrk(
                f"http://127.0.0.1:{REFERENCE_PORT}{path.reference}",
                server_pid=reference_pid,
                **common,
            )
            failures += ours.errors + bare.errors
            ratio = (
                ours.requests_per_second / bare.requests_per_second
                if bare.requests_per_second
                else 0.0
            )
            ratios.setdefault(path.name, []).append(ratio)
            cpu_ratio = (bare.server_cpu_ms + bare.database_cpu_ms) / (
                ours.server_cpu_ms + ours.database_cpu_ms
            )
            cpu_ratios.setdefault(path.name, []).append(cpu_ratio)
            print(_row(path.name, "product", ours))
            print(_row(path.name, "reference", bare))
            print(f"{path.name:<6} ratio     {ratio:.2f}  (CPU per request: {cpu_ratio:.2f})")
    print("--- median ratio over rounds (throughput; CPU per request, reference / product)")
    for name, values in ratios.items():
        rounds = ", ".join(f"{value:.2f}" for value in values)
        print(
            f"{name:<6} {statistics.median(values):.2f}  (rounds: {rounds});"
            f" CPU {statistics.median(cpu_ratios[name]):.2f}"
        )
    if failures:
        print(f"{failures} non-2xx answers or socket errors: the figures above measure errors")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
