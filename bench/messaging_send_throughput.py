"""Message send throughput under 32 concurrent clients against uvicorn (ASGI), compared in the
same run with a bare endpoint that authenticates and inserts one row (docs/benchmarks.md).

    .venv/bin/python bench/messaging_send_throughput.py [--clients 32] [--seconds 15]

Needs the seeded database of bench/messaging_reads.py (carecore_bench_full). Each client is a
different patient posting to their own thread with a fresh client_id per message (a real send:
access check, row lock, triage screen, response clock, read state, audit). The bare endpoint is
mounted only by bench/settings.py, which this script uses for its own server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _messaging_env as benv

DATABASE = "carecore_bench_full"


def prepare(clients: int) -> list[dict[str, str]]:
    import django

    django.setup()
    from carecore.accounts.models import Patient
    from carecore.accounts.services import token_issue
    from messaging.models import Thread

    rows = []
    for patient in Patient.objects.select_related("user").order_by("id")[:clients]:
        thread = Thread.objects.filter(patient=patient).order_by("id")[0]
        rows.append({"token": token_issue(user=patient.user), "thread": str(thread.id)})
    return rows


async def _client(port: int, path_for, body_for, token: str, stop_at: float, latencies: list):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            body = body_for()
            request = (
                f"POST {path_for()} HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            if not status_line.split()[1].startswith(b"2"):
                raise RuntimeError(f"unexpected response {status_line!r}")
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()


async def _load(port: int, rows: list[dict[str, str]], kind: str, seconds: float) -> dict:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    def send_body() -> bytes:
        payload = {
            "body": "Bench: the rash is about the same today.",
            "client_id": uuid.uuid4().hex,
        }
        return json.dumps(payload).encode()

    tasks = []
    for row in rows:
        if kind == "send":
            path = f"/api/v1/threads/{row['thread']}/messages/"
            tasks.append(
                _client(port, lambda p=path: p, send_body, row["token"], stop_at, latencies)
            )
        else:
            tasks.append(
                _client(
                    port,
                    lambda: "/api/v1/bench/bare-insert/",
                    lambda: b"{}",
                    row["token"],
                    stop_at,
                    latencies,
                )
            )
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.clients)))
        return 0
    with benv.services():
        rows = json.loads(
            benv.run_self(
                "messaging_send_throughput.py",
                DATABASE,
                "--prepare",
                "--clients",
                str(args.clients),
            )
        )
        port = _free_port()
        env = benv.env_for(
            DATABASE,
            # The bench URLconf adds the baseline endpoint (bench/bare_insert.py).
            DJANGO_SETTINGS_MODULE="bench.settings",
            DATABASE_POOL_MAX_SIZE=str(args.clients),
        )
        server = subprocess.Popen(
            [
                str(benv.ROOT / ".venv/bin/uvicorn"),
                "carecore.asgi:application",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=benv.ROOT,
            env=env,
        )
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            results = {}
            for kind in ("bare", "send", "bare", "send"):  # interleaved, the second pass counts
                results[kind] = asyncio.run(_load(port, rows, kind, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    bare, send = results["bare"], results["send"]
    print(f"{'endpoint':10} {'requests':>9} {'req/s':>8} {'p50':>8} {'p99':>8}")
    for name, row in (("bare", bare), ("send", send)):
        print(
            f"{name:10} {row['requests']:>9} {row['rps']:>8} {row['p50_ms']:>6}ms "
            f"{row['p99_ms']:>6}ms"
        )
    print(
        f"send / bare = {send['rps'] / bare['rps']:.2f} ({args.clients} clients, "
        f"{args.seconds:.0f} s each, uvicorn 1 worker)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
