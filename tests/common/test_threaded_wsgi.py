"""Django's WSGI handler behind the ASGI server (carecore/common/threaded_wsgi.py): an answer
whose body is in memory reaches the server whole, in two messages, without its request thread
waiting for the event loop; a streamed answer still goes piece by piece, each piece produced
only after the one before was taken."""

from __future__ import annotations

import asyncio
import http.client
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpResponse, StreamingHttpResponse

from carecore.common.threaded_wsgi import ThreadedWSGI
from tests.servers import ROOT, running_web


def _bridge(wsgi_app: Any, *, workers: int) -> Any:
    """ThreadedWSGI as the server calls it: with plain dicts (a2wsgi types its messages as
    TypedDicts, narrower than these tests need)."""
    return ThreadedWSGI(wsgi_app, workers=workers)


def _get_scope(path: str = "/") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _serve(wsgi_app: Any, *, slow_send: float = 0.0) -> list[dict[str, Any]]:
    """One GET through ThreadedWSGI on a real event loop and thread pool; the messages the
    server was sent, each stamped with when `send` finished with it. `slow_send`: the server
    takes that long to take each message (a slow client's socket)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(slow_send)
        sent.append({**message, "taken_at": time.monotonic()})

    application = _bridge(wsgi_app, workers=2)
    try:
        asyncio.run(application(_get_scope(), receive, send))
    finally:
        application.executor.shutdown(wait=True)
    return sent


def _django_style(response: HttpResponse | StreamingHttpResponse, events: list[str]) -> Any:
    """A WSGI application answering as Django's WSGIHandler does: start_response, then the
    response object itself as the iterable, closed by the server afterwards."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(f"{response.status_code} {response.reason_phrase}", response.items())
        original_close = response.close

        def close() -> None:
            events.append(("closed", time.monotonic()))  # type: ignore[arg-type]
            original_close()

        response.close = close  # type: ignore[method-assign]
        return response

    return application


def test_an_answer_in_memory_reaches_the_server_whole_in_two_messages() -> None:
    response = HttpResponse(b'{"ok": true}', content_type="application/json", status=201)

    sent = _serve(_django_style(response, []))

    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    start, body = sent
    assert start["status"] == 201
    assert (b"content-type", b"application/json") in start["headers"]
    assert body["body"] == b'{"ok": true}'
    assert not body.get("more_body", False)


def test_the_request_thread_does_not_wait_for_the_server_to_take_an_answer_in_memory() -> None:
    events: list[Any] = []
    response = HttpResponse(b"x" * 10_000)

    sent = _serve(_django_style(response, events), slow_send=0.3)

    ((_, closed_at),) = events
    # The thread was done (the response closed) before the server had taken the status line.
    assert closed_at < sent[0]["taken_at"] - 0.2
    assert b"".join(message.get("body", b"") for message in sent) == b"x" * 10_000


def test_an_answer_in_memory_costs_the_event_loop_no_task_per_piece() -> None:
    # a2wsgi made a task on the loop for each piece the thread handed over (status and
    # headers, body, end) and the thread waited for each: here the loop runs the request's own
    # task and its sender, however the answer was cut.
    tasks_made = 0

    async def serve() -> None:
        nonlocal tasks_made
        loop = asyncio.get_running_loop()

        def counting_factory(loop: asyncio.AbstractEventLoop, coroutine: Any) -> Any:
            nonlocal tasks_made
            tasks_made += 1
            return asyncio.Task(coroutine, loop=loop)

        loop.set_task_factory(counting_factory)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        await application(_get_scope(), receive, send)
        loop.set_task_factory(None)  # asyncio.run's own shutdown tasks are not the request's

    application = _bridge(_django_style(HttpResponse(b"in memory"), []), workers=1)
    try:
        asyncio.run(serve())
    finally:
        application.executor.shutdown(wait=True)
    assert tasks_made == 1  # the sender; a2wsgi's own bridge made 4


def test_a_streamed_answer_goes_piece_by_piece_never_far_ahead_of_the_server() -> None:
    made_at: list[float] = []

    def pieces() -> Iterator[bytes]:
        for number in range(PIECES):
            made_at.append(time.monotonic())
            yield f"piece {number};".encode()

    sent = _serve(_django_style(StreamingHttpResponse(pieces()), []), slow_send=0.01)

    bodies = sent[1:]
    assert sent[0]["type"] == "http.response.start"
    assert [message["body"] for message in bodies] == [
        f"piece {number};".encode() for number in range(PIECES)
    ] + [b""]
    assert [message.get("more_body", False) for message in bodies] == [True] * PIECES + [False]
    # Back-pressure, as a2wsgi bounds it: a piece is made only while fewer than its queue's
    # size (10) wait for the server, so a large download never sits whole in memory.
    taken_at = [message["taken_at"] for message in bodies]
    for number, when in enumerate(made_at):
        taken_by_then = sum(1 for taken in taken_at if taken <= when)
        assert number - taken_by_then <= 10 + 2


PIECES = 40


def test_an_application_writing_through_start_response_is_streamed_in_order() -> None:
    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written first;")
        return [b"then returned"]

    sent = _serve(application)

    assert [message["type"] for message in sent] == ["http.response.start"] + [
        "http.response.body"
    ] * 3
    assert b"".join(message["body"] for message in sent[1:]) == b"written first;then returned"


def test_an_unknown_iterable_is_streamed() -> None:
    # A plain WSGI application's list says nothing about streaming: sent as a2wsgi sends it.
    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"one;", b"two"]

    sent = _serve(application)

    assert [message.get("body") for message in sent[1:]] == [b"one;", b"two", b""]


def test_an_error_before_the_answer_reaches_the_server() -> None:
    def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _serve(application)


def test_answers_in_flight_on_many_threads_each_arrive_whole() -> None:
    # Eight requests at once on a loop of their own, two threads: none takes another's body.
    bodies = [f"answer {number}".encode() * 500 for number in range(8)]
    application = _bridge(
        lambda environ, start_response: _django_style(
            HttpResponse(bodies[int(environ["PATH_INFO"].strip("/"))]), []
        )(environ, start_response),
        workers=2,
    )
    received: dict[int, bytes] = {}

    async def one(number: int) -> None:
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            chunks.append(message.get("body", b""))

        await application(_get_scope(f"/{number}"), receive, send)
        received[number] = b"".join(chunks)

    async def all_at_once() -> None:
        await asyncio.gather(*(one(number) for number in range(8)))

    try:
        asyncio.run(all_at_once())
    finally:
        application.executor.shutdown(wait=True)
    assert received == dict(enumerate(bodies))


@pytest.mark.django_db(transaction=True)
def test_the_real_server_sends_pages_whole_and_files_streamed() -> None:
    static_file = ROOT / "static" / "portal" / "portal.css"
    with running_web("threaded-wsgi") as base:
        connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
        # One keep-alive connection, several answers: each ends where the next begins.
        answers = []
        for path in ("/healthz", "/static/portal/portal.css", "/api/schema/", "/healthz"):
            connection.request("GET", path)
            response = connection.getresponse()
            answers.append((path, response.status, response.read(), response))
        connection.close()

    for path, status, _body, _response in answers:
        assert status == 200, path
    assert answers[1][2] == static_file.read_bytes()
    schema = answers[2][2]
    assert b"openapi" in schema
    assert int(answers[2][3].getheader("Content-Length", "-1")) == len(schema)


def test_the_thread_pool_serves_other_requests_while_one_streams_slowly() -> None:
    # A slow client of a streamed answer holds one thread; an answer in memory is served by the
    # other meanwhile (the pool has two).
    application = _bridge(
        lambda environ, start_response: _django_style(
            StreamingHttpResponse(iter([b"a", b"b", b"c"]))
            if environ["PATH_INFO"] == "/slow"
            else HttpResponse(b"quick"),
            [],
        )(environ, start_response),
        workers=2,
    )
    finished: dict[str, float] = {}

    async def request(path: str, delay: float) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            await asyncio.sleep(delay)

        await application(_get_scope(path), receive, send)
        finished[path] = time.monotonic()

    async def both() -> None:
        await asyncio.gather(request("/slow", 0.2), request("/quick", 0.0))

    try:
        asyncio.run(both())
    finally:
        application.executor.shutdown(wait=True)
    assert finished["/quick"] < finished["/slow"] - 0.5
