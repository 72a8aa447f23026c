"""Web push (RFC 8030 with VAPID, RFC 8292, and payload encryption, RFC 8291) through pywebpush.

A push row is delivered to every browser the user registered (`PushSubscription`). The payload
is the in-app title and body plus the portal link: no patient data, and encrypted for the
browser anyway. The push service keeps at most one undelivered message per `Topic`, and the
topic is derived from the notification id, so a retried delivery replaces the first copy while
it is still queued instead of showing twice: the closest web push has to an idempotency key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from .errors import DeliveryError, PermanentDeliveryError

# Push services answer these for a subscription that no longer exists (RFC 8030 section 7.3).
GONE_STATUSES = frozenset({404, 410})
# 4xx other than these mean our request is wrong (payload too large, bad VAPID): retrying the
# same request cannot help. 429 and 5xx are worth a retry.
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class PushMessage:
    title: str
    body: str
    url: str
    idempotency_key: str
    urgent: bool = False


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


class PushSubscriptionGone(Exception):
    """The push service says this subscription no longer exists; delete it."""


def push_enabled() -> bool:
    return bool(settings.CARECORE_WEBPUSH_VAPID_PRIVATE_KEY)


def topic_for(idempotency_key: str) -> str:
    """A Topic header value: at most 32 characters of the URL-safe base64 alphabet."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def send_push(target: PushTarget, message: PushMessage, *, session: requests.Session) -> None:
    """Encrypt and POST one message to one subscription; raises PushSubscriptionGone,
    PermanentDeliveryError (refused for good), or an error worth retrying."""
    payload = json.dumps({"title": message.title, "body": message.body, "url": message.url})
    try:
        webpush(
            subscription_info={
                "endpoint": target.endpoint,
                "keys": {"p256dh": target.p256dh, "auth": target.auth},
            },
            data=payload,
            vapid_private_key=settings.CARECORE_WEBPUSH_VAPID_PRIVATE_KEY,
            vapid_claims={"sub": settings.CARECORE_WEBPUSH_VAPID_SUBJECT},
            ttl=settings.CARECORE_WEBPUSH_TTL_SECONDS,
            headers={
                "Topic": topic_for(message.idempotency_key),
                "Urgency": "high" if message.urgent else "normal",
            },
            timeout=settings.CARECORE_WEBPUSH_TIMEOUT_SECONDS,
            requests_session=session,
        )
    except requests.RequestException:
        # The message would quote the endpoint, a capability URL: a code is enough.
        raise DeliveryError("connection_failed") from None
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        # The exception text quotes the response body; only the status code is kept.
        if status in GONE_STATUSES:
            raise PushSubscriptionGone(f"push service answered {status}") from None
        if status is not None and 400 <= status < 500 and status not in RETRYABLE_STATUSES:
            raise PermanentDeliveryError("provider_refused", status) from None
        raise DeliveryError("provider_unavailable", status) from None
