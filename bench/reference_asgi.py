"""uvicorn entry point of the bare reference server (bench/load_hotpaths.py starts it)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference_settings")

application = get_asgi_application()
