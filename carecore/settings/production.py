"""Production settings: no secret defaults, HTTPS only, strict throttles, MFA for staff."""

from __future__ import annotations

import os

os.environ.setdefault("CARECORE_REQUIRE_STAFF_MFA", "true")
os.environ.setdefault("CARECORE_THROTTLE_ANON", "30/min")
os.environ.setdefault("CARECORE_THROTTLE_USER", "300/min")
os.environ.setdefault("CARECORE_THROTTLE_AUTH", "10/min")

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True

EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)

# No SMS until a provider adapter is configured (CARECORE_SMS_BACKEND); until then no SMS rows are
# queued at all, rather than failing. The portal URL must be the real one.
CARECORE_PORTAL_URL = env("CARECORE_PORTAL_URL")
