"""ASGI entry point (uvicorn in `make run`, the web service in docker compose)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")

application = get_asgi_application()
