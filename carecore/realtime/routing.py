"""WebSocket routes, served by the same ASGI application (and host and port) as HTTP."""

from __future__ import annotations

from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.urls import path, re_path

from .consumers import EventFeedConsumer

# The Origin header must name one of ALLOWED_HOSTS (a page elsewhere cannot open the socket in a
# signed-in user's browser); anything else, and every other path, is refused at the handshake.
websocket_application = AllowedHostsOriginValidator(
    URLRouter(
        [
            path("ws/events/", EventFeedConsumer.as_asgi()),
            re_path(r"", WebsocketDenier.as_asgi()),
        ]
    )
)
