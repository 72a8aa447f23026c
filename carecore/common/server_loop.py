"""The web server's event loop, for sync code that must run a coroutine on it.

HTTP requests run Django's sync handler on a pool of threads (carecore/asgi.py). A coroutine
such as a real-time publish (channels_redis) keeps its Redis connections per event loop, so
`async_to_sync` from such a thread, which runs the coroutine on a loop of its own, would open
new connections on every request. `run_on_server_loop` runs it on the server's loop instead,
where the connections stay open, and waits for it. A Celery worker's pool processes run such a
loop in a thread of their own (`start_background_loop`, carecore/celery.py). Elsewhere (a
management command, a test) there is no server loop and it falls back to `async_to_sync`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from asgiref.sync import async_to_sync

_T = TypeVar("_T")
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    global _server_loop
    _server_loop = loop


def start_background_loop() -> asyncio.AbstractEventLoop:
    """Give a process that is not a web server (a Celery worker's pool process) a loop of its
    own, run by a daemon thread, and use it as the server loop: its publishes then keep their
    Redis connections open from one task to the next, as the web server's do."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="carecore-event-loop", daemon=True).start()
    remember_server_loop(loop)
    return loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_on_server_loop(
    function: Callable[..., Coroutine[Any, Any, _T]], *args: Any, timeout: float
) -> _T:
    """`function(*args)` run to its end from sync code, on the server's loop when there is one
    and this thread is not running it; else as `async_to_sync` would."""
    loop = _server_loop
    if loop is None or loop.is_closed() or not loop.is_running() or _running_loop() is loop:
        return async_to_sync(function)(*args)
    return asyncio.run_coroutine_threadsafe(function(*args), loop).result(timeout=timeout)


class ServerLoopMiddleware:
    """ASGI middleware that records the loop it runs on (the first request or connection)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if _server_loop is not asyncio.get_running_loop():
            remember_server_loop(asyncio.get_running_loop())
        await self.app(scope, receive, send)
