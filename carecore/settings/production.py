"""Production settings: no secret defaults, HTTPS only, strict throttles, MFA for staff."""

from __future__ import annotations

import os

os.environ.setdefault("CARECORE_REQUIRE_STAFF_MFA", "true")
os.environ.setdefault("CARECORE_THROTTLE_ANON", "30/min")
os.environ.setdefault("CARECORE_THROTTLE_USER", "300/min")
os.environ.setdefault("CARECORE_THROTTLE_AUTH", "10/min")

from django.core.exceptions import ImproperlyConfigured

from . import providers
from .base import *  # noqa: F403
from .base import (
    ANYMAIL,
    CARECORE_EMAIL_PROVIDER,
    CARECORE_JITSI_APP_ID,
    CARECORE_JITSI_APP_SECRET,
    CARECORE_JITSI_URL,
    CARECORE_SMS_BACKEND,
    CARECORE_VIDEO_PROVIDER,
    CARECORE_WEBPUSH_VAPID_PRIVATE_KEY,
    CARECORE_WEBPUSH_VAPID_PUBLIC_KEY,
    CARECORE_WEBPUSH_VAPID_SUBJECT,
    SECRET_KEY,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_FROM_NUMBER,
    TWILIO_MESSAGING_SERVICE_SID,
    env,
)

# Fail at start-up, not only in `check --deploy`: a short key or the .env.example placeholder
# would make sessions, CSRF tokens and password-reset links forgeable.
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("replace-me"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be 50+ random characters (not the .env.example placeholder)."
    )

DEBUG = False
# Required here (base defaults it to empty, which with DEBUG off would answer every request 400):
# a missing value should stop the deploy, not serve errors.
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# Serve only the files collected (and compressed) at build time; finders and autorefresh are
# development conveniences that re-scan the disk, whatever DJANGO_DEBUG says.
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
MULTIDB_PINNING_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True

EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)

# No SMS until a provider adapter is configured (CARECORE_SMS_BACKEND); until then no SMS rows are
# queued at all, rather than failing. The portal URL must be the real one.
CARECORE_PORTAL_URL = env("CARECORE_PORTAL_URL")

# A provider chosen but half-configured would fail every delivery at run time (and retry for
# hours); refuse to start instead, naming every missing piece at once.
_PROVIDER_PROBLEMS = [
    *providers.email_problems(CARECORE_EMAIL_PROVIDER, ANYMAIL, EMAIL_HOST),
    *providers.sms_problems(
        CARECORE_SMS_BACKEND,
        {
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_MESSAGING_SERVICE_SID": TWILIO_MESSAGING_SERVICE_SID,
            "TWILIO_FROM_NUMBER": TWILIO_FROM_NUMBER,
        },
    ),
    *providers.webpush_problems(
        CARECORE_WEBPUSH_VAPID_PRIVATE_KEY,
        CARECORE_WEBPUSH_VAPID_PUBLIC_KEY,
        CARECORE_WEBPUSH_VAPID_SUBJECT,
    ),
    *providers.video_problems(
        CARECORE_VIDEO_PROVIDER,
        {
            "CARECORE_JITSI_URL": CARECORE_JITSI_URL,
            "CARECORE_JITSI_APP_ID": CARECORE_JITSI_APP_ID,
            "CARECORE_JITSI_APP_SECRET": CARECORE_JITSI_APP_SECRET,
        },
    ),
]
if _PROVIDER_PROBLEMS:
    raise ImproperlyConfigured(" ".join(_PROVIDER_PROBLEMS))
