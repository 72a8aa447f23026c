"""WSGI entry point, for servers that do not speak ASGI (and `runserver`)."""

import os

from carecore.common.wsgi_handler import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")

application = get_wsgi_application()
