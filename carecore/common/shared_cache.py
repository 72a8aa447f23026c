"""The default cache's backend, one per process, for code that runs on every request or task.

Not `caches["default"]`: Django keeps that per thread (per request under ASGI), and each backend
has a Redis connection pool of its own, so every thread of the web server's pool, or every
request, opened and health-checked connections of its own. This one is shared by the threads of
a process (redis-py's pool is thread-safe), made again after a fork and when the CACHES setting
changes (tests). Used by the request throttles and the wake-up of messaging's announcer.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.signals import setting_changed
from django.dispatch import receiver

_lock = threading.Lock()
_backend: BaseCache | None = None
_backend_pid = 0


def shared_cache() -> BaseCache:
    """This process's backend of the default cache."""
    global _backend, _backend_pid
    backend = _backend
    if backend is not None and _backend_pid == os.getpid():
        return backend
    with _lock:
        if _backend is None or _backend_pid != os.getpid():
            _backend = caches.create_connection(DEFAULT_CACHE_ALIAS)
            _backend_pid = os.getpid()
        return _backend


def forget_shared_cache() -> None:
    """The next `shared_cache()` makes a new backend (from the settings as they are then)."""
    global _backend
    with _lock:
        _backend = None


@receiver(setting_changed)
def _cache_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        forget_shared_cache()
