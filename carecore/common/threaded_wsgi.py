"""Django's WSGI handler on a pool of threads inside the ASGI server (a2wsgi), with an answer
already in memory handed to the event loop in one piece.

a2wsgi hands each piece of an answer from the request's thread to the event loop and waits
until the loop has taken it: the status and headers, each chunk of the body, then the body's
end. Each of those is a task made on the loop, a wake-up of the loop through its self-pipe and
a wake-up of the waiting thread; on an inbox page that was three round trips between the two
threads per request and about 7% of the web process's time under load (py-spy, docs/
benchmarks.md). Almost every answer Django gives is an `HttpResponse` whose body is already
in memory (JSON, a page): its request thread now queues the status, the headers and the whole
body at once and returns without waiting. A streamed answer (a file, a `StreamingHttpResponse`)
or an application that writes through `start_response`'s `write` goes piece by piece with
waits, as a2wsgi sends it, so a large download still never sits whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.asgi_typing import Receive, Scope, Send, SendEvent
from a2wsgi.wsgi import WSGIResponder


def _response_start(status: str, headers: list[tuple[str, str]]) -> SendEvent:
    """The ASGI start message of a WSGI status line and headers, as a2wsgi writes it."""
    return {
        "type": "http.response.start",
        "status": int(status.split(" ", 1)[0]),
        "headers": [
            (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
            for name, value in headers
        ],
    }


class WholeAnswerResponder(WSGIResponder):
    """One request: a2wsgi's responder, but an answer whose body is in memory (not streaming)
    goes to the loop as one queued list of messages, without the request's thread waiting."""

    def wsgi(self, environ: Any, start_response: Any) -> None:
        held: list[tuple[str, list[tuple[str, str]]]] = []
        streamed = False

        def hold_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.exc_info = exc_info
            held[:] = [(status, headers)]
            return write

        def write(chunk: bytes) -> None:
            # An application writing before it returns streams from here on.
            nonlocal streamed
            if not streamed:
                streamed = True
                self._send_held_start(held)
            self.send({"type": "http.response.body", "body": chunk, "more_body": True})

        iterable = self.app(environ, hold_start)
        try:
            if streamed or not held or getattr(iterable, "streaming", True):
                if not streamed:
                    self._send_held_start(held)
                self._stream(iterable)
            else:
                self._queue_whole(held[0], b"".join(iterable))
        finally:
            getattr(iterable, "close", lambda: None)()

    def _send_held_start(self, held: list[tuple[str, list[tuple[str, str]]]]) -> None:
        if held:
            status, headers = held[0]
            self.response_started = True
            self.send(_response_start(status, headers))

    def _stream(self, iterable: Iterable[bytes]) -> None:
        """Piece by piece, each waited for, as a2wsgi sends an answer."""
        for chunk in iterable:
            self.send({"type": "http.response.body", "body": chunk, "more_body": True})
        self.send({"type": "http.response.body", "body": b""})

    def _queue_whole(self, start: tuple[str, list[tuple[str, str]]], body: bytes) -> None:
        """Queue the start and the whole body as one item, from this thread, without waiting.

        Nothing was queued before it, so the queue has room (`put_nowait` cannot fail), and the
        loop runs this callback before the one that ends the request (`__call__`'s `None`, put
        once the thread has returned): callbacks run in the order they were scheduled."""
        self.response_started = True
        messages: list[SendEvent] = [
            _response_start(*start),
            {"type": "http.response.body", "body": body},
        ]
        self.loop.call_soon_threadsafe(self.send_queue.put_nowait, messages)

    async def sender(self, send: Send) -> None:
        while True:
            item = await self.send_queue.get()
            if item is None:
                break
            for message in item if isinstance(item, list) else [item]:
                await send(message)
            self.send_queue.task_done()


class ThreadedWSGI(WSGIMiddleware):
    """a2wsgi's WSGI-to-ASGI bridge answering HTTP through `WholeAnswerResponder`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            responder = WholeAnswerResponder(self.app, self.executor, self.send_queue_size)
            return await responder(scope, receive, send)
        return await super().__call__(scope, receive, send)
