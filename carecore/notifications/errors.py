"""Errors of the outbox: what backends raise to steer retries, what the outbox keeps of them,
and what preferences refuse.

A provider's error text can quote the recipient's address or phone number (an SMTP refusal
lists the refused addresses, Twilio quotes the number, a push service echoes the endpoint), so
the outbox never stores it: `delivery_error_code` turns any error into a classified code and,
where there is one, the status the provider answered (`provider_refused:422`,
`smtp_error:550`, `connection_failed`). Codes are from a fixed vocabulary (docs/security.md,
"Smaller leaks"); an unknown error is `unexpected_error`, with its type in the worker's log.
"""

from __future__ import annotations

import smtplib

from carecore.common.errors import ApplicationError


class DeliveryError(Exception):
    """A delivery failed in a way worth retrying: a stable `code` (lowercase words) and the
    provider's `status` (HTTP or SMTP) if it answered. Never the provider's text."""

    def __init__(self, code: str, status: int | None = None) -> None:
        self.code = code
        self.status = status
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"{self.code}:{self.status}" if self.status is not None else self.code


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (the recipient has no phone number any more, the provider refused
    the request for good). The row ends `failed` at once; an admin may re-send it."""


class UrgentPageSilenced(ApplicationError):
    """A clinician or coordinator tried to turn an urgent page off in the app, or off on both
    e-mail and SMS (docs/security.md, "Urgent pages cannot be silenced")."""

    code = "urgent_page_required"
    default_message = (
        "Urgent pages always reach care team staff in the app and on e-mail or SMS; "
        "they cannot be turned off."
    )


def delivery_error_code(error: BaseException) -> str:
    """What the outbox stores of a failed delivery: a code and a status, never a message."""
    if isinstance(error, DeliveryError):
        return error.describe()
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "recipient_refused"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"smtp_error:{error.smtp_code}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "smtp_disconnected"
    if isinstance(error, smtplib.SMTPException):
        return "smtp_error"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionError):
        return "connection_failed"
    if isinstance(error, OSError):
        return "network_error"
    return "unexpected_error"
