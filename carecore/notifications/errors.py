"""Errors of the outbox: what backends raise to steer retries, and what preferences refuse."""

from __future__ import annotations

from carecore.common.errors import ApplicationError


class PermanentDeliveryError(Exception):
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
