"""Short full garbage collections in the web processes (issue #14, docs/architecture.md).

A web process holds a large heap that lives as long as the process: Django, DRF, the FHIR
models, the triage pipeline, then the caches the first requests build (URL resolvers,
serializer fields, templates, pooled connections). Python's full (oldest-generation) collection
walks every object in that heap, stopping every thread of the process while it does: measured
under load, about 100 ms every two seconds, which every request in flight waited out. That pause
was most of the page's and inbox's p99.

`gc.freeze()` moves every object alive at that moment into a permanent generation that
collections skip. The process freezes twice: once when the application is loaded, and once more
after its first requests have built their caches. Each time it collects first, so what is
frozen is what is alive. The cost, bounded and paid once: an object frozen then that later
becomes part of an unreachable cycle is never freed (objects freed by reference counting, nearly
all of them, are freed as before). The Python documentation recommends the same for servers
that load their application before serving.
"""

import gc
import logging
import threading
from typing import Any

from django.core.signals import request_finished

logger = logging.getLogger(__name__)


def freeze_live_objects() -> None:
    """Collect, then move every object still alive out of the reach of later collections."""
    gc.collect()
    gc.freeze()
    logger.info("gc.freeze: %d objects set aside from collections", gc.get_freeze_count())


class FreezeAfterRequests:
    """Freezes the heap once, when the process has finished `requests` requests: by then the
    caches the first requests build are part of it. Connected to `request_finished`, which every
    request's thread sends; the count is shared by the threads."""

    def __init__(self, requests: int) -> None:
        self.requests = requests
        self._finished = 0
        self._lock = threading.Lock()
        self.frozen = False

    def __call__(self, **kwargs: Any) -> None:
        if self.frozen:  # every later request: no lock taken
            return
        with self._lock:
            self._finished += 1
            if self.frozen or self._finished < self.requests:
                return
            self.frozen = True
        freeze_live_objects()


def freeze_after_requests(requests: int) -> FreezeAfterRequests | None:
    """Connects a `FreezeAfterRequests` to `request_finished` (none when `requests` is 0)."""
    if requests <= 0:
        return None
    receiver = FreezeAfterRequests(requests)
    request_finished.connect(receiver, weak=False, dispatch_uid="carecore-gc-freeze")
    return receiver
