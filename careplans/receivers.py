"""What care plans do when a lower app tells them something happened."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from intake.hooks import response_completed

from .services import check_in_attach_response


@receiver(response_completed, dispatch_uid="careplans.attach_check_in")
def attach_check_in(*, response: Any, **_: Any) -> None:
    """A completed instrument response answers the patient's earliest open check-in for it."""
    check_in_attach_response(response=response)
