"""Errors that backends raise to steer the outbox's retries."""

from __future__ import annotations


class PermanentDeliveryError(Exception):
    """Retrying cannot help (the recipient has no phone number any more, the provider refused
    the request for good). The row ends `failed` at once; an admin may re-send it."""
