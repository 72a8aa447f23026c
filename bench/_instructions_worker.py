"""The process bench/instructions_hotpaths.py measures: one source tree's Django, answering the
hot paths in-process through that tree's WSGI application (`carecore.wsgi.application`, the
handler its web threads run), when told to over stdin.

    python -P bench/_instructions_worker.py             # serve requests (under callgrind)
    python -P bench/_instructions_worker.py --prepare   # only make sure the bench thread exists

The driver starts it with the tree as working directory and PYTHONPATH, so `carecore`,
`messaging`... are that tree's; this file itself always comes from the current tree (an older
commit has none), and when serving it uses nothing of the product but its HTTP API, which every
tree answers alike.

It signs in the demo patient and clinician, finds the patient's "Bench thread", prints
`ready <thread id>`, then reads lines: `collect` (a full garbage collection, answered by
`collected`) or `<path> <count>` (path: page or inbox: it sends `count` requests and prints
`done <path> <count>`). Every answer must be a 200: a run that measures errors measures
nothing.

With `--prepare` (run once, in the current tree, not under callgrind) it opens the bench thread
with its messages through the product's services if there is none yet, as
bench/load_hotpaths.py does over HTTP, has the messages announced as the product's worker would,
and exits.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.test import Client

# Start-up work the product does in a background thread (messaging/apps.py: building the triage
# pipeline). A web process has long finished it when it serves; here, under callgrind, it would
# still be running during the first passes, and callgrind counts every thread's instructions.
BACKGROUND_START_UP_THREADS = ("triage-warm-up",)
DEMO_PASSWORD = "carecore-demo"  # as bench/load_hotpaths.py and demo/management/commands
PATIENT_EMAIL = "patient@demo.carecore.test"
CLINICIAN_EMAIL = "clinician@demo.carecore.test"
BENCH_THREAD_SUBJECT = "Bench thread"
FILL_MESSAGES = 200  # the thread's messages, its first included (bench/load_hotpaths.py)


def _sign_in(email: str) -> str:
    """A bearer token for `email`, from the login API (a client of its own: the measured
    requests then carry the token only, no session cookie, as wrk's do)."""
    from django.test import Client

    response = Client().post(
        "/api/v1/auth/login/",
        data=json.dumps({"email": email, "password": DEMO_PASSWORD}),
        content_type="application/json",
    )
    _expect_ok(response.status_code, f"login of {email}", response.content)
    return str(response.json()["token"])


def _expect_ok(status: int, what: str, content: bytes) -> None:
    if status != 200:
        raise SystemExit(f"{what} answered {status}: {content[:300]!r}")


def _bench_thread_id(client: Client, patient_token: str) -> str | None:
    response = client.get(
        "/api/v1/threads/?page_size=100", HTTP_AUTHORIZATION=f"Bearer {patient_token}"
    )
    _expect_ok(response.status_code, "the patient's thread list", response.content)
    for thread in response.json()["results"]:
        if thread["subject"] == BENCH_THREAD_SUBJECT:
            return str(thread["id"])
    return None


def _open_bench_thread() -> None:
    """The demo patient's bench thread and its messages, through the product's services (the
    API's views call the same), so no server has to run."""
    from django.contrib.auth import get_user_model

    from messaging import services
    from messaging.announcements import announcements_deliver

    patient = get_user_model().objects.get(email=PATIENT_EMAIL)
    opened = services.thread_open(
        actor=patient, subject=BENCH_THREAD_SUBJECT, category="clinical", body="First message."
    )
    for number in range(FILL_MESSAGES - 1):
        services.message_send(
            actor=patient, thread_id=opened.thread.id, body=f"Filler message {number}."
        )
    # In load_hotpaths the product's worker announces these (and the panel's threads) before the
    # reads are measured: feed events and notifications exist then, so they should here too.
    announcements_deliver(linger=0.0)


def _prepare() -> None:
    from django.test import Client

    patient_token = _sign_in(PATIENT_EMAIL)
    if _bench_thread_id(Client(), patient_token) is None:
        _open_bench_thread()
    if _bench_thread_id(Client(), patient_token) is None:
        raise SystemExit(f"no {BENCH_THREAD_SUBJECT!r} in the demo patient's threads")


def _await_background_start_up() -> None:
    for thread in threading.enumerate():
        if thread.name in BACKGROUND_START_UP_THREADS:
            thread.join()


def _wsgi_application_caller() -> Callable[[str, str], tuple[int, bytes]]:
    """A GET through the tree's WSGI application as a web thread calls it (the answer's pieces
    joined, then the answer closed), not through django.test.Client, whose handler is not the
    one the web processes run and does work of its own (it keeps each request, template and
    context for the test)."""
    from django.test import RequestFactory

    from carecore.wsgi import application

    def serve_one(url: str, token: str) -> tuple[int, bytes]:
        environ = RequestFactory().get(url, HTTP_AUTHORIZATION=f"Bearer {token}").environ
        statuses: list[str] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
        ) -> Callable[[bytes], object]:
            statuses.append(status)
            return lambda chunk: None

        answer = application(environ, start_response)
        try:
            body = b"".join(answer)
        finally:
            answer.close()
        return int(statuses[0].split()[0]), body

    return serve_one


def _serve() -> None:
    from django.test import Client

    _await_background_start_up()
    client = Client()
    patient_token = _sign_in(PATIENT_EMAIL)
    clinician_token = _sign_in(CLINICIAN_EMAIL)
    thread_id = _bench_thread_id(client, patient_token)
    if thread_id is None:
        raise SystemExit(f"no {BENCH_THREAD_SUBJECT!r}: run the driver without --reuse-database")
    requests = {
        "page": (f"/api/v1/threads/{thread_id}/messages/?page_size=50", patient_token),
        "inbox": ("/api/v1/threads/?page_size=50", clinician_token),
    }
    serve_one = _wsgi_application_caller()
    print(f"ready {thread_id}", flush=True)
    for line in sys.stdin:
        if line.strip() == "collect":
            # Sent before each measured pass, outside it: every pass then starts with empty
            # young generations and no full collection due, instead of paying, or not, for
            # one that earlier passes brought near (a 2% swing between passes otherwise).
            gc.collect()
            print("collected", flush=True)
            continue
        path, count = line.split()
        url, token = requests[path]
        for _ in range(int(count)):
            status, body = serve_one(url, token)
            _expect_ok(status, f"GET {url}", body)
        print(f"done {path} {count}", flush=True)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")
    import django

    django.setup()
    if "--prepare" in sys.argv[1:]:
        _prepare()
    else:
        _serve()


if __name__ == "__main__":
    main()
