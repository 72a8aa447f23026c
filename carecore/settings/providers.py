"""Which provider backs e-mail, SMS, web push and video, and whether it is fully configured.

Plain functions over setting values (no Django import), used by base.py to pick the e-mail
backend and by production.py to refuse to start with a half-configured provider: a provider
that is chosen, or whose credentials are partly given, must have everything it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMAIL_BACKENDS = {
    "postmark": "anymail.backends.postmark.EmailBackend",
    "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
}
# The ANYMAIL keys each provider cannot work without. Amazon SES may take its credentials from
# the machine's IAM role, so only the region is required (see AMAZON_SES_* in configuration.md).
EMAIL_REQUIRED = {
    "postmark": ["POSTMARK_SERVER_TOKEN"],
    "amazon_ses": ["AMAZON_SES_CLIENT_PARAMS.region_name"],
    "mailgun": ["MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN"],
    "sendgrid": ["SENDGRID_API_KEY"],
}
TWILIO_BACKEND = "carecore.notifications.sms.TwilioSmsBackend"
JITSI_PROVIDER = "portal.video.JitsiVideoProvider"


def email_backend_for(provider: str) -> str:
    if provider not in EMAIL_BACKENDS:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"CARECORE_EMAIL_PROVIDER must be one of {', '.join(sorted(EMAIL_BACKENDS))}."
        )
    return EMAIL_BACKENDS[provider]


def _anymail_value(anymail: Mapping[str, Any], dotted: str) -> Any:
    value: Any = anymail
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def email_problems(provider: str, anymail: Mapping[str, Any], email_host: str) -> list[str]:
    if not provider:
        return [] if email_host else ["EMAIL_HOST (or CARECORE_EMAIL_PROVIDER) is required."]
    missing = [key for key in EMAIL_REQUIRED[provider] if not _anymail_value(anymail, key)]
    ses = anymail.get("AMAZON_SES_CLIENT_PARAMS", {})
    if provider == "amazon_ses" and bool(ses.get("aws_access_key_id")) != bool(
        ses.get("aws_secret_access_key")
    ):
        missing.append("AMAZON_SES_ACCESS_KEY_ID and AMAZON_SES_SECRET_ACCESS_KEY together")
    return [f"CARECORE_EMAIL_PROVIDER={provider} needs {key}." for key in missing]


def sms_problems(backend: str, twilio: Mapping[str, str]) -> list[str]:
    """`twilio`: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_MESSAGING_SERVICE_SID,
    TWILIO_FROM_NUMBER by name."""
    if backend != TWILIO_BACKEND and not any(twilio.values()):
        return []
    problems = [
        f"Twilio SMS needs {name}."
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
        if not twilio.get(name)
    ]
    if not (twilio.get("TWILIO_MESSAGING_SERVICE_SID") or twilio.get("TWILIO_FROM_NUMBER")):
        problems.append("Twilio SMS needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER.")
    if backend != TWILIO_BACKEND:
        problems.append(f"TWILIO_* is set but CARECORE_SMS_BACKEND is not {TWILIO_BACKEND}.")
    return problems


def webpush_problems(private_key: str, public_key: str, subject: str) -> list[str]:
    if not (private_key or public_key or subject):
        return []
    return [
        f"Web push needs {name}."
        for name, value in (
            ("CARECORE_WEBPUSH_VAPID_PRIVATE_KEY", private_key),
            ("CARECORE_WEBPUSH_VAPID_PUBLIC_KEY", public_key),
            ("CARECORE_WEBPUSH_VAPID_SUBJECT (mailto: or https: contact)", subject),
        )
        if not value
    ]


def video_problems(provider: str, jitsi: Mapping[str, str]) -> list[str]:
    """`jitsi`: CARECORE_JITSI_URL, CARECORE_JITSI_APP_ID, CARECORE_JITSI_APP_SECRET by name."""
    if provider != JITSI_PROVIDER:
        return []
    problems = [f"Jitsi video needs {name}." for name, value in jitsi.items() if not value]
    if len(jitsi.get("CARECORE_JITSI_APP_SECRET", "")) < 32:
        problems.append("CARECORE_JITSI_APP_SECRET must be 32+ random characters.")
    return problems
