"""A test-only task that fails with patient data in its exception, loaded into a real worker with
`running_worker(include=("tests.common.canary_tasks",))`."""

from __future__ import annotations

from celery import shared_task

from carecore.accounts.models import User


class ReachabilityError(Exception):
    pass


@shared_task(name="tests.fail_with_patient_data", ignore_result=True)
def fail_with_patient_data(user_id: str) -> None:
    """Fails the way careless code would: the messages quote the patient's name and phone,
    and the final error is chained to another one that quotes them too."""
    user = User.objects.get(pk=user_id)
    try:
        raise LookupError(f"no carrier for {user.phone} ({user.first_name})")
    except LookupError as cause:
        raise ReachabilityError(
            f"{user.first_name} {user.last_name} could not be reached"
        ) from cause
