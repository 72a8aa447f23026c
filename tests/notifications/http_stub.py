"""A recording HTTP server on 127.0.0.1: the provider on the other side of the HTTP boundary.

Provider adapters run for real (SDK, serialisation, auth headers, error handling) and talk HTTP
to this server instead of the internet; tests read what arrived and choose what it answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)  # dict/list: sent as JSON; bytes: as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StubServer:
    url: str
    requests: list[Recorded]
    answer: Callable[[Recorded], Reply]


@contextmanager
def stub_server(answer: Callable[[Recorded], Reply] | None = None) -> Iterator[StubServer]:
    recorded: list[Recorded] = []
    stub = StubServer(url="", requests=recorded, answer=answer or (lambda _request: Reply()))

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Recorded(
                method=self.command,
                path=self.path,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length),
            )
            recorded.append(request)
            reply = stub.answer(request)
            body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
