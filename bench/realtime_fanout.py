"""Real-time feed under load: 500 WebSocket clients on one uvicorn process, a message every
100 ms, latency from the event's numbering (inside the sending transaction, just before its
commit) to receipt by each client, and the server's memory per connection (docs/benchmarks.md).

    .venv/bin/python bench/realtime_fanout.py [--teams 10] [--patients-per-team 49]
                                              [--seconds 20] [--interval 0.1]

Builds a fresh `carecore_bench_realtime` database on the embedded PostgreSQL: `--teams` lead
clinicians, each with `--patients-per-team` patients who opened one thread each. Every client
(each clinician and each patient: 500 with the defaults) holds a socket to `/ws/events/`. Every
`--interval` seconds a clinician replies over HTTP in a random patient's thread (a real send:
access check, row lock, audit, outbox, events), which reaches that patient's socket (message,
thread status the first time, notification) and the clinician's own. `at` is the database clock
when the event was numbered, slightly before the commit, so the figures are a little pessimistic.
The client runs in this process on the same (shared, two-core) machine as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _messaging_env as benv

DATABASE = "carecore_bench_realtime"
# Its own Redis database, so a `make run` on the same embedded Redis is not disturbed.
CHANNEL_LAYER_DB = 14


def prepare(teams: int, per_team: int) -> dict[str, Any]:
    """Seed the care teams and threads; return tokens and thread ids (runs in a subprocess)."""
    import django

    django.setup()
    from carecore.accounts.models import CareTeam, CareTeamMember, Clinician, Patient, Role, User
    from carecore.accounts.services import token_issue
    from messaging import services as messaging

    clinicians, patients = [], []
    for team in range(teams):
        lead_user = User.objects.create_user(
            f"bench-clinician-{team}@bench.invalid",
            None,
            first_name="Bench",
            last_name=f"Clinician {team}",
            role=Role.CLINICIAN,
        )
        lead = Clinician.objects.create(user=lead_user, credentials="MD", licensed_states=["NY"])
        clinicians.append({"token": token_issue(user=lead_user), "user": str(lead_user.id)})
        for number in range(per_team):
            user = User.objects.create_user(
                f"bench-patient-{team}-{number}@bench.invalid",
                None,
                first_name="Bench",
                last_name=f"Patient {team}-{number}",
                role=Role.PATIENT,
            )
            patient = Patient.objects.create(user=user, date_of_birth=date(1990, 1, 1), state="NY")
            care_team = CareTeam.objects.create(patient=patient, lead=lead)
            CareTeamMember.objects.create(care_team=care_team, user=lead_user)
            thread = messaging.thread_open(
                actor=user, subject="Bench", category="clinical", body="Bench: a question."
            ).thread
            patients.append(
                {
                    "token": token_issue(user=user),
                    "user": str(user.id),
                    "thread": str(thread.id),
                    "team": team,
                }
            )
    return {"clinicians": clinicians, "patients": patients}


def latest_numbers() -> dict[str, int]:
    """Every user's last event number (runs in a subprocess, after the load)."""
    import django

    django.setup()
    from carecore.realtime.models import EventSequence

    return {
        str(user): seq for user, seq in EventSequence.objects.values_list("user_id", "last_seq")
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(host: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://{host}{path}",
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # The URL is built here from a literal http:// and the benchmark's own server address.
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Client:
    def __init__(self, host: str, token: str, user: str) -> None:
        self.host, self.token, self.user = host, token, user
        self.latencies_ms: list[float] = []
        self.types: list[str] = []
        self.seqs: list[int] = []
        self.ready_seq = 0

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        ticket = (
            await asyncio.to_thread(_post, self.host, "/api/v1/realtime/tickets/", self.token)
        )["ticket"]
        self.socket = await connect(
            f"ws://{self.host}/ws/events/",
            subprotocols=["carecore.v1", f"ticket.{ticket}"],  # type: ignore[list-item]
            origin=f"http://{self.host}",  # type: ignore[arg-type]
            open_timeout=60,
        )
        ready = json.loads(await self.socket.recv())
        assert ready["type"] == "ready"
        self.ready_seq = ready["data"]["seq"]

    async def listen(self) -> None:
        async for raw in self.socket:
            received = time.time()
            message = json.loads(raw)
            if "seq" in message:
                sent = datetime.fromisoformat(message["at"]).timestamp()
                self.latencies_ms.append((received - sent) * 1000)
                self.types.append(message["type"])
                self.seqs.append(message["seq"])

    def in_order_without_gaps(self) -> bool:
        return self.seqs == list(range(self.ready_seq + 1, self.ready_seq + 1 + len(self.seqs)))


async def _load(
    host: str, api_host: str, server_pid: int, rows: dict[str, Any], args: argparse.Namespace
) -> dict:
    clients = [
        Client(host, row["token"], row["user"]) for row in [*rows["clinicians"], *rows["patients"]]
    ]
    await clients[0].open()
    rss_one = _rss_kib(server_pid)
    for start in range(1, len(clients), 50):
        await asyncio.gather(*(client.open() for client in clients[start : start + 50]))
    await asyncio.sleep(2)
    rss_all = _rss_kib(server_pid)
    listeners = [asyncio.create_task(client.listen()) for client in clients]

    randomiser = random.Random(15)
    sends: list[asyncio.Task[Any]] = []
    send_ms: list[float] = []

    async def reply(patient: dict[str, Any]) -> None:
        started = time.perf_counter()
        await asyncio.to_thread(
            _post,
            api_host,
            f"/api/v1/threads/{patient['thread']}/messages/",
            rows["clinicians"][patient["team"]]["token"],
            {"body": "Bench: keep going with the cream."},
        )
        send_ms.append((time.perf_counter() - started) * 1000)

    stop_at = time.monotonic() + args.seconds
    next_at = time.monotonic()
    while next_at < stop_at:
        sends.append(asyncio.create_task(reply(randomiser.choice(rows["patients"]))))
        next_at += args.interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*sends)
    await asyncio.sleep(3)  # the tail
    for task in listeners:
        task.cancel()
    for client in clients:
        await client.socket.close()

    latest = json.loads(benv.run_self("realtime_fanout.py", DATABASE, "--latest"))
    missing = sum(latest.get(c.user, 0) - c.ready_seq - len(c.seqs) for c in clients)
    latencies = sorted(ms for client in clients for ms in client.latencies_ms)
    messages = sorted(
        ms
        for client in clients
        for ms, kind in zip(client.latencies_ms, client.types, strict=True)
        if kind == "message.created"
    )

    def pct(values: list[float], share: float) -> float:
        return round(values[min(len(values) - 1, int(len(values) * share))], 1)

    return {
        "clients": len(clients),
        "messages_sent": len(sends),
        "events_received": len(latencies),
        "events_missing": missing,
        "clients_in_order_without_gaps": sum(c.in_order_without_gaps() for c in clients),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": round(latencies[-1], 1),
        "message_created_p50_ms": round(statistics.median(messages), 1),
        "message_created_p99_ms": pct(messages, 0.99),
        "send_request_p50_ms": round(statistics.median(send_ms), 1),
        "server_rss_one_client_mib": round(rss_one / 1024, 1),
        "server_rss_all_clients_mib": round(rss_all / 1024, 1),
        "server_kib_per_connection": round((rss_all - rss_one) / (len(clients) - 1), 1),
    }


def _uvicorn(channel_layer: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
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
        env=benv.env_for(DATABASE, CHANNEL_LAYER_URL=channel_layer),
    )
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    return server, port


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--patients-per-team", type=int, default=49)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument(
        "--api-server",
        action="store_true",
        help="send the replies to a second uvicorn process (as with several web processes), "
        "so the sockets' server does only the feed",
    )
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--latest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.latest:
        print(json.dumps(latest_numbers()))
        return 0
    if args.prepare:
        print(json.dumps(prepare(args.teams, args.patients_per_team)))
        return 0
    with benv.services():
        from carecore.settings.redis_urls import redis_database_url, redis_server_url

        channel_layer = redis_database_url(
            redis_server_url(os.environ["REDIS_URL"]), CHANNEL_LAYER_DB
        )
        benv.create_database(DATABASE, fresh=True)
        benv.manage(DATABASE, "migrate", "--no-input", "-v", "0")
        rows = json.loads(
            benv.run_self(
                "realtime_fanout.py",
                DATABASE,
                "--prepare",
                "--teams",
                str(args.teams),
                "--patients-per-team",
                str(args.patients_per_team),
                CHANNEL_LAYER_URL=channel_layer,
            )
        )
        feed_server, feed_port = _uvicorn(channel_layer)
        api_server, api_port = _uvicorn(channel_layer) if args.api_server else (None, feed_port)
        try:
            results = asyncio.run(
                _load(
                    f"127.0.0.1:{feed_port}", f"127.0.0.1:{api_port}", feed_server.pid, rows, args
                )
            )
        finally:
            for server in (feed_server, api_server):
                if server is not None:
                    server.terminate()
                    try:
                        server.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        server.kill()
                        server.wait(timeout=10)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
