"""One backend of the default cache per process, shared by its threads (shared_cache.py)."""

from __future__ import annotations

import os
import threading

from django.test import override_settings

from carecore.common.shared_cache import forget_shared_cache, shared_cache


def test_the_threads_of_a_process_share_one_backend():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(shared_cache())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(seen) == 8
    assert all(backend is shared_cache() for backend in seen)


def test_a_forked_child_makes_its_own():
    parent = shared_cache()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: a backend of its own (a pool's sockets are not shared)
        os.write(writing, b"1" if shared_cache() is not parent else b"0")
        os._exit(0)
    os.waitpid(child, 0)

    assert os.read(reading, 1) == b"1"
    assert shared_cache() is parent


def test_changed_cache_settings_make_a_new_one():
    before = shared_cache()
    elsewhere = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=elsewhere):
        assert shared_cache() is not before
        assert type(shared_cache()).__name__ == "LocMemCache"
    forget_shared_cache()
    assert type(shared_cache()).__name__ == "RedisCache"


def test_the_backend_makes_one_redis_client_per_pool_for_every_thread():
    cache = shared_cache()
    clients = []

    def use_the_cache() -> None:
        cache.set("shared-cache-test", 1, timeout=10)
        clients.append(cache._cache.get_client(write=True))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=use_the_cache) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(clients) == 8
    assert all(client is clients[0] for client in clients)
    assert cache.incr("shared-cache-test") == 2  # and the shared client still answers
