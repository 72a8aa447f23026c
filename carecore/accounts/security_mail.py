"""Security e-mail to an account's own address: MFA enrolment codes and "someone used your
address" notices.

These do not go through the notification outbox: an enrolment code is a secret that must not
be stored in a table, a task queue or a log (only its keyed hash is kept, see
`MfaEnrollmentCode`), and a security notice is sent whatever the user's notification
preferences and quiet hours say. Each message goes straight to the configured e-mail provider
(EMAIL_BACKEND / CARECORE_EMAIL_PROVIDER, a file under var/mail/ in local development) once the
transaction that decided to send it has committed. A provider failure is logged without the
address or the text and never turns the request into a 500; asking again sends a new code.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from carecore.common.errors import log_unhandled
from carecore.notifications.mail import IDEMPOTENCY_HEADER


def security_mail(*, to: str, subject: str, body: str, key: str) -> EmailMessage:
    """A message with `key`, an opaque id the provider and the local file backend use to drop
    a duplicate (a retried send)."""
    return EmailMessage(
        subject=subject,
        body=body,
        to=[to],
        headers={
            IDEMPOTENCY_HEADER: key,
            "Message-ID": f"<{key}@{settings.CARECORE_NOTIFICATIONS_MESSAGE_ID_DOMAIN}>",
        },
    )


def security_mail_send(*, to: str, subject: str, body: str, key: str) -> None:
    """Send once the current transaction commits (at once outside one), in this process."""
    message = security_mail(to=to, subject=subject, body=body, key=key)
    transaction.on_commit(lambda: _send(message))


def _send(message: EmailMessage) -> None:
    try:
        message.send(fail_silently=False)
    except Exception as error:  # the provider's failure must not turn the request into a 500
        log_unhandled(error)
