"""ASGI entry point (uvicorn in `make run`, the web service in docker compose): HTTP goes to
Django, WebSockets (`/ws/events/`) to Channels, on the same host and port.

HTTP runs Django's sync WSGI handler on a fixed pool of threads (a2wsgi's bridge, with an answer
in memory handed over whole: carecore/common/threaded_wsgi.py), not Django's ASGI handler: every
view and middleware we have is sync, and the ASGI handler ran each request in a new thread of its
own and hopped between it and the event loop through asgiref, which cost about 15 % of a
request's CPU (docs/architecture.md, "How HTTP is served")."""

import os
from typing import Any, cast

from channels.routing import ProtocolTypeRouter
from django.conf import settings

from carecore.common.wsgi_handler import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")

# Loads the apps first: the WebSocket routes import models. The handler lets go of each
# request's objects when its answer is closed (carecore/common/wsgi_handler.py).
django_application = get_wsgi_application()

from carecore.common.body_limits import BodySizeLimitMiddleware  # noqa: E402
from carecore.common.gc_freeze import freeze_after_requests, freeze_live_objects  # noqa: E402
from carecore.common.server_loop import ServerLoopMiddleware  # noqa: E402
from carecore.common.threaded_wsgi import ThreadedWSGI  # noqa: E402
from carecore.realtime.routing import websocket_application  # noqa: E402

# Body caps sit in front of Django: the body is read (up to its cap) before any Django code
# runs (carecore/common/body_limits.py).
# (The casts: Django's and a2wsgi's type hints describe the same WSGI and ASGI callables in
# narrower terms than each other's.)
threaded_django = ThreadedWSGI(cast(Any, django_application), workers=settings.CARECORE_WEB_THREADS)
http_application = BodySizeLimitMiddleware(cast(Any, threaded_django))
application = ServerLoopMiddleware(
    ProtocolTypeRouter({"http": http_application, "websocket": websocket_application})
)

# Full garbage collections skip what the process loaded at start and what its first requests
# cached (carecore/common/gc_freeze.py): they had stopped every request in flight for ~100 ms.
if settings.CARECORE_GC_FREEZE:
    freeze_live_objects()
    freeze_after_requests(settings.CARECORE_GC_FREEZE_AFTER_REQUESTS)
