"""Settings for `make run` on a developer's machine: debug on, files instead of e-mail and SMS."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-not-a-secret")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
os.environ.setdefault("CARECORE_REQUIRE_STAFF_MFA", "false")
# File-based e-mail under var/mail/, one file per notification even when a delivery is retried.
os.environ.setdefault("EMAIL_BACKEND", "carecore.notifications.mail.IdempotentFileEmailBackend")
# SMS as files under var/sms/.
os.environ.setdefault("CARECORE_SMS_BACKEND", "carecore.notifications.sms.FileSmsBackend")
# Rates a load test from one user (hundreds of requests a second) does not hit.
os.environ.setdefault("CARECORE_THROTTLE_ANON", "100000/min")
os.environ.setdefault("CARECORE_THROTTLE_USER", "100000/min")
os.environ.setdefault("CARECORE_THROTTLE_AUTH", "10000/min")
os.environ.setdefault("CARECORE_THROTTLE_SIGNUP", "10000/min")
os.environ.setdefault("CARECORE_THROTTLE_SIGNUP_ADDRESS", "10000/min")

from .base import *  # noqa: F403
