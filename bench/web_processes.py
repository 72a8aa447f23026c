"""Requests per second for one and for two web processes on one machine, and what limits each
(issue #19; docs/scaling.md, "Web processes on one machine").

    .venv/bin/python bench/web_processes.py [--duration 15] [--connections 32] [--rounds 2]

On the embedded PostgreSQL and Redis of `make run`, in a database of its own
(`carecore_bench_web`, made afresh with the demo data), it starts the product's web exactly as
the Procfile's `web:` line does (read from the Procfile, so it follows any change there; with
`WEB_CONCURRENCY=1` per copy), first one copy, then two copies behind Debian's HAProxy
(round-robin, as in tests/test_load_balanced.py): the production shape of N stateless web
processes behind a load balancer. No worker or beat: the paths below queue nothing.

Two paths, driven by wrk (2 threads, N connections):
- inbox: the demo clinician's 50 most recent threads (`GET /api/v1/threads/?page_size=50`),
  a representative authenticated read: token check, throttle in Redis, access filter, one page
  from PostgreSQL, serialisation;
- healthz: `/healthz`, the process answering and nothing else (the cost of the stack itself).

For each it prints requests/s, p50 and p99 (the median round by requests/s), and the CPU used
during the run, in cores: the web processes, PostgreSQL (the postmaster and its backends),
Redis, HAProxy, wrk itself, and everything else on the machine (other tenants of a shared box). From
those it names the limit: a web process near one full core is limited by its own CPU (one
Python event loop); when the cores are all busy, by the machine. Prints a Markdown table ready
for docs/scaling.md. Figures on a shared machine are noisy: compare within one run only.

Needs `wrk` and `haproxy` (Debian: `apt-get install wrk haproxy`).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._messaging_env import PYTHON, ROOT, create_database, database_url, services
from bench.load_hotpaths import Result, _start, _stop, _wait_until_up, _wrk

DATABASE = "carecore_bench_web"
DEMO_PASSWORD = "carecore-demo"
FIRST_WEB_PORT = 8290
BALANCER_PORT = 8299
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
# A web process using this much of one core is limited by its own CPU.
WEB_CPU_BOUND = 0.85

HAPROXY_CONFIG = """
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend carecore
    bind 127.0.0.1:{port}
    default_backend web
backend web
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz hdr Host localhost
{servers}
"""


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    user: str | None  # whose token, or None: no Authorization header


PATHS = [
    Target("inbox", "/api/v1/threads/?page_size=50", "clinician"),
    Target("healthz", "/healthz", None),
]


@dataclass(frozen=True)
class CpuUse:
    """Cores used during one run, by whom."""

    web: float
    postgres: float
    redis: float
    haproxy: float
    wrk: float
    machine: float  # every process on the machine

    @property
    def others(self) -> float:
        ours = self.web + self.postgres + self.redis + self.haproxy + self.wrk
        return max(0.0, self.machine - ours)


@dataclass(frozen=True)
class Measurement:
    processes: int
    path: str
    result: Result
    cpu: CpuUse

    def limit(self) -> str:
        per_web = self.cpu.web / self.processes
        busy = self.cpu.machine / CORES
        if per_web >= WEB_CPU_BOUND:
            return f"web CPU ({per_web:.2f} core per process)"
        if busy >= 0.9:
            biggest = max(
                ("web", self.cpu.web),
                ("PostgreSQL", self.cpu.postgres),
                ("Redis", self.cpu.redis),
                ("wrk + HAProxy", self.cpu.wrk + self.cpu.haproxy),
                ("other processes", self.cpu.others),
                key=lambda item: item[1],
            )
            return f"machine's {CORES} cores ({busy:.0%} busy; most: {biggest[0]})"
        if self.cpu.postgres >= 0.85:
            return f"PostgreSQL CPU ({self.cpu.postgres:.2f} core)"
        return f"not CPU ({busy:.0%} of the machine busy): waits (database, Redis, network)"


# --- processes and their CPU time ---------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _snapshot(roots: dict[str, list[int]]) -> dict[str, dict[int, int]]:
    children = _children()
    return {
        group: {pid: _cpu_ticks(pid) for root in pids for pid in _tree(root, children)}
        for group, pids in roots.items()
    }


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _redis_pid() -> list[int]:
    """The embedded Redis of scripts/dev.py, when it is this worktree's (else it counts under
    "others")."""
    pid_file = ROOT / "var" / "redis" / "redis.pid"
    return [int(pid_file.read_text().strip())] if pid_file.exists() else []


def _postmaster_pid() -> int:
    import psycopg

    with psycopg.connect(database_url(DATABASE), autocommit=True) as connection:
        row = connection.execute("SHOW data_directory").fetchone()
    assert row is not None
    return int((Path(row[0]) / "postmaster.pid").read_text().split("\n")[0])


# --- the product's web, as the Procfile starts it -------------------------------------------------


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise SystemExit("the Procfile has no web: line")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(DATABASE),
        DJANGO_SETTINGS_MODULE="carecore.settings.local",
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
        # Otherwise the run measures 429s; the throttle still counts every request in Redis.
        CARECORE_THROTTLE_USER="100000000/min",
        CARECORE_THROTTLE_ANON="100000000/min",
        WEB_CONCURRENCY="1",
        PATH=f"{PYTHON.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


@contextmanager
def web_processes(count: int) -> Iterator[list[int]]:
    """`count` copies of the Procfile's web, on ports from FIRST_WEB_PORT; yields their pids."""
    command = procfile_web_command()
    (ROOT / "var" / "log").mkdir(parents=True, exist_ok=True)  # its request log, as `make run`
    processes = []
    try:
        for number in range(count):
            port = FIRST_WEB_PORT + number
            processes.append(_start(["sh", "-c", command], _env(PORT=str(port), HOST="127.0.0.1")))
            _wait_until_up(port, timeout=120)
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            _stop(process)


@contextmanager
def balancer(count: int) -> Iterator[int]:
    """HAProxy on BALANCER_PORT in front of `count` web processes; yields its pid."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    servers = "\n".join(
        f"    server web{number} 127.0.0.1:{FIRST_WEB_PORT + number} check inter 1s"
        for number in range(count)
    )
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=BALANCER_PORT, servers=servers))
        process = _start([haproxy, "-f", str(config), "-db"], os.environ.copy())
        try:
            _wait_until_up(BALANCER_PORT)
            yield process.pid
        finally:
            _stop(process)


# --- driving and measuring ------------------------------------------------------------------------


def _login(port: int, email: str) -> str:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login/",
        data=json.dumps({"email": email, "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
        return str(json.loads(response.read())["token"])


def _measure(
    url: str, token: str, roots: dict[str, list[int]], arguments: argparse.Namespace
) -> tuple[Result, CpuUse]:
    before, machine_before = _snapshot(roots), _machine_ticks()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = _wrk(
        url,
        method="GET",
        token=token,
        duration=arguments.duration,
        connections=arguments.connections,
    )
    wall = time.monotonic() - started
    after, machine_after = _snapshot(roots), _machine_ticks()
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)

    def cores(group: str) -> float:
        ticks = sum(ticks - before[group].get(pid, 0) for pid, ticks in after[group].items())
        return ticks / CLOCK_TICKS / wall

    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    wrk_seconds = (wrk_after.ru_utime + wrk_after.ru_stime) - (
        wrk_before.ru_utime + wrk_before.ru_stime
    )
    return result, CpuUse(
        web=cores("web"),
        postgres=cores("postgres"),
        redis=cores("redis"),
        haproxy=cores("haproxy") if "haproxy" in roots else 0.0,
        wrk=wrk_seconds / wall,
        machine=CORES * busy / total if total else 0.0,
    )


def _run_setup(processes: int, postmaster: int, arguments: argparse.Namespace) -> list[Measurement]:
    measurements = []
    with ExitStack() as stack:
        web_pids = stack.enter_context(web_processes(processes))
        tokens = {"clinician": _login(FIRST_WEB_PORT, "clinician@demo.carecore.test")}
        roots = {"web": web_pids, "postgres": [postmaster], "redis": _redis_pid()}
        port = FIRST_WEB_PORT
        if processes > 1:
            roots["haproxy"] = [stack.enter_context(balancer(processes))]
            port = BALANCER_PORT
        for path in PATHS:
            url = f"http://127.0.0.1:{port}{path.path}"
            token = tokens[path.user] if path.user else ""
            warm = argparse.Namespace(duration=3, connections=arguments.connections)
            _measure(url, token, roots, warm)  # first requests build caches and pools
            rounds = [_measure(url, token, roots, arguments) for _ in range(arguments.rounds)]
            result, cpu = sorted(rounds, key=lambda r: r[0].requests_per_second)[len(rounds) // 2]
            measurement = Measurement(processes, path.name, result, cpu)
            measurements.append(measurement)
            print(_line(measurement), flush=True)
    return measurements


def _line(measurement: Measurement) -> str:
    result, cpu = measurement.result, measurement.cpu
    return (
        f"{measurement.processes} web  {measurement.path:<8} {result.requests_per_second:>8.1f}"
        f" req/s  p50 {result.p50_ms:>7.1f} ms  p99 {result.p99_ms:>7.1f} ms"
        f"  errors {result.errors}  cores: web {cpu.web:.2f}, PostgreSQL {cpu.postgres:.2f},"
        f" Redis {cpu.redis:.2f}, HAProxy {cpu.haproxy:.2f}, wrk {cpu.wrk:.2f},"
        f" others {cpu.others:.2f}"
        f"  -> {measurement.limit()}"
    )


def _table(measurements: list[Measurement]) -> str:
    rows = [
        "| web processes | path | req/s | p50 ms | p99 ms | CPU (cores): web / PostgreSQL /"
        " Redis / HAProxy / wrk / others | limited by |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in measurements:
        rows.append(
            f"| {m.processes}{' (HAProxy)' if m.processes > 1 else ''} | {m.path} |"
            f" {m.result.requests_per_second:.0f} | {m.result.p50_ms:.1f} |"
            f" {m.result.p99_ms:.1f} | {m.cpu.web:.2f} / {m.cpu.postgres:.2f} /"
            f" {m.cpu.redis:.2f} / {m.cpu.haproxy:.2f} / {m.cpu.wrk:.2f} /"
            f" {m.cpu.others:.2f} | {m.limit()} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="runs per figure; the median")
    parser.add_argument("--processes", default="1,2", help="web process counts to measure")
    arguments = parser.parse_args()
    for tool in ("wrk", "haproxy"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            raise SystemExit(f"{tool} is missing: apt-get install {tool}")
    print(f"web command (Procfile): {procfile_web_command()}")
    print(
        f"wrk -t2 -c{arguments.connections} -d{arguments.duration}s, median of"
        f" {arguments.rounds}; {CORES} cores; load average {os.getloadavg()[0]:.1f} at start"
    )

    with services():
        create_database(DATABASE, fresh=True)
        for command in (
            ("migrate", "--no-input", "-v0"),
            ("sync_questionnaires",),
            ("seed_demo", "--force"),
        ):
            subprocess.run([str(PYTHON), "manage.py", *command], cwd=ROOT, env=_env(), check=True)
        postmaster = _postmaster_pid()
        measurements: list[Measurement] = []
        for count in (int(value) for value in arguments.processes.split(",")):
            measurements += _run_setup(count, postmaster, arguments)

    print()
    print(_table(measurements))
    print(f"\n{CORES} cores; load average {os.getloadavg()[0]:.1f} at the end (1 min).")
    by_path: dict[str, dict[int, float]] = {}
    for m in measurements:
        by_path.setdefault(m.path, {})[m.processes] = m.result.requests_per_second
    for path, rates in by_path.items():
        if 1 in rates and 2 in rates and rates[1]:
            print(f"{path}: 2 processes / 1 process = {rates[2] / rates[1]:.2f}")
    errors = sum(m.result.errors for m in measurements)
    if errors:
        print(f"{errors} non-2xx answers or socket errors: the figures above measure errors")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
