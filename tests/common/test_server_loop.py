"""run_on_server_loop: sync code on a request thread runs a coroutine on the server's loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from carecore.common import server_loop


async def _loop_it_ran_on() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.fixture
def serving_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server_loop.remember_server_loop(loop)
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()
    server_loop.remember_server_loop(None)


def test_from_a_request_thread_it_runs_on_the_servers_loop(serving_loop):
    assert server_loop.run_on_server_loop(_loop_it_ran_on, timeout=5) is serving_loop


def test_without_a_server_loop_it_runs_on_a_loop_of_its_own():
    server_loop.remember_server_loop(None)

    ran_on = server_loop.run_on_server_loop(_loop_it_ran_on, timeout=5)

    assert isinstance(ran_on, asyncio.AbstractEventLoop)


def test_a_closed_server_loop_is_not_used(serving_loop):
    serving_loop.call_soon_threadsafe(serving_loop.stop)
    while serving_loop.is_running():
        pass

    assert server_loop.run_on_server_loop(_loop_it_ran_on, timeout=5) is not serving_loop


def test_the_middleware_remembers_the_loop_it_runs_on():
    async def app(scope, receive, send) -> None:
        return None

    async def one_request() -> asyncio.AbstractEventLoop:
        await server_loop.ServerLoopMiddleware(app)({"type": "http"}, None, None)
        return asyncio.get_running_loop()

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(one_request()) is loop
        assert server_loop._server_loop is loop
    finally:
        loop.close()
        server_loop.remember_server_loop(None)


def test_a_background_loop_serves_a_process_that_is_no_web_server():
    # A Celery pool process calls this as it starts (carecore/celery.py).
    loop = server_loop.start_background_loop()
    try:
        first = server_loop.run_on_server_loop(_loop_it_ran_on, timeout=5)
        second = server_loop.run_on_server_loop(_loop_it_ran_on, timeout=5)

        assert first is second is loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        server_loop.remember_server_loop(None)
