"""Settings for the test suite: real PostgreSQL and Redis, fast password hashing."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-a-secret")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("CARECORE_REQUIRE_STAFF_MFA", "false")
os.environ.setdefault("CARECORE_THROTTLE_ANON", "100000/min")
os.environ.setdefault("CARECORE_THROTTLE_USER", "100000/min")
os.environ.setdefault("CARECORE_THROTTLE_AUTH", "100000/min")
os.environ.setdefault("CARECORE_THROTTLE_SIGNUP", "100000/min")
os.environ.setdefault("CARECORE_THROTTLE_SIGNUP_ADDRESS", "100000/min")
# Many tests travel hours ahead with a token made before; tests of the idle timeout itself set
# the production values (tests/accounts/test_sessions.py).
os.environ.setdefault("CARECORE_STAFF_IDLE_MINUTES", "720")
os.environ.setdefault("CARECORE_PATIENT_IDLE_MINUTES", "720")

from .base import *  # noqa: F403
from .base import CACHES, REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD, REDIS_URL, VAR_DIR
from .redis_urls import channel_layer_host, redis_database_url, sentinel_transport_options

# Argon2 is deliberately slow; the suite creates hundreds of users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests use their own Redis databases so a running `make run` is not disturbed.
CACHES["default"]["LOCATION"] = os.environ.get("TEST_CACHE_URL", redis_database_url(REDIS_URL, 11))
CACHES["default"]["KEY_PREFIX"] = "carecore-test"
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", redis_database_url(REDIS_URL, 10))
CELERY_BROKER_TRANSPORT_OPTIONS.update(  # noqa: F405
    sentinel_transport_options(
        CELERY_BROKER_URL, master=REDIS_SENTINEL_MASTER, sentinel_password=REDIS_SENTINEL_PASSWORD
    )
)
CELERY_TASK_ALWAYS_EAGER = False
# The announcer's pause between batches trades a message's latency for a worker's CPU under load
# (docs/messaging.md); tests announce at once, and pass `linger` where they are about it.
CARECORE_MESSAGING_ANNOUNCE_LINGER_SECONDS = 0.0
CARECORE_REALTIME_REDIS_URL = os.environ.get(
    "TEST_CHANNEL_LAYER_URL", redis_database_url(REDIS_URL, 12)
)
_layer_host = CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]  # noqa: F405
for _key in ("address", "sentinels", "master_name", "db", "password", "sentinel_kwargs"):
    _layer_host.pop(_key, None)
_layer_host.update(
    channel_layer_host(
        CARECORE_REALTIME_REDIS_URL,
        master=REDIS_SENTINEL_MASTER,
        sentinel_password=REDIS_SENTINEL_PASSWORD,
    )
)

# In-memory by default; a worker process started by a test writes files the test can read.
EMAIL_BACKEND = os.environ.get(
    "TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
EMAIL_FILE_PATH = os.environ.get("TEST_EMAIL_FILE_PATH", str(VAR_DIR / "test-mail"))
CARECORE_SMS_BACKEND = os.environ.get(
    "TEST_SMS_BACKEND", "carecore.notifications.sms.LocmemSmsBackend"
)
CARECORE_SMS_FILE_PATH = os.environ.get("TEST_SMS_FILE_PATH", str(VAR_DIR / "test-sms"))
# Tests pass these to worker processes to shorten the sweeper's waits.
CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = int(
    os.environ.get("TEST_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", "300")
)
CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS = int(
    os.environ.get("TEST_NOTIFICATIONS_REQUEUE_AFTER_SECONDS", "120")
)
MEDIA_ROOT = str(VAR_DIR / "test-media")
CARECORE_FHIR_EXPORT_ROOT = str(VAR_DIR / "test-fhir-export")
# Every FHIR response is checked against the R4 models in the suite, as in DEBUG.
CARECORE_FHIR_VALIDATE = True
# Every run of a query compiled once is compiled afresh too and must match (CompiledOnce).
CARECORE_VERIFY_COMPILED_QUERIES = True
WHITENOISE_AUTOREFRESH = True

# A Celery worker process started by the suite (tests/worker.py) connects straight to the
# suite's test database, whose name only the test process knows.
if os.environ.get("CARECORE_WORKER_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["CARECORE_WORKER_DATABASE_NAME"]  # noqa: F405
