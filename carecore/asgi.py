"""ASGI entry point (uvicorn in `make run`, the web service in docker compose): HTTP goes to
Django, WebSockets (`/ws/events/`) to Channels, on the same host and port."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")

# Loads the apps first: the WebSocket routes import models.
django_application = get_asgi_application()

from carecore.common.body_limits import BodySizeLimitMiddleware  # noqa: E402
from carecore.realtime.routing import websocket_application  # noqa: E402

# Body caps sit in front of Django's handler, which reads a whole body before any Django code
# runs (carecore/common/body_limits.py).
application = ProtocolTypeRouter(
    {"http": BodySizeLimitMiddleware(django_application), "websocket": websocket_application}
)
