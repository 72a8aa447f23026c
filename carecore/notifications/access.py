"""Who may see a notification: its recipient, and nobody else.

A notification is a message to one person, not a record of a patient, so it is not shared with
the care team the way `patient_visibility` shares patient data: a clinician on the team still
cannot read the patient's inbox. Anything else is NotFound, like an id that does not exist, and
every check is audited (including the denied ones).
"""

from __future__ import annotations

from uuid import UUID

from carecore.accounts.access import audited_get
from carecore.accounts.models import User
from carecore.audit.models import Action

from .models import Channel, Notification, PushSubscription


def access_notification(
    *, user: User, notification_id: UUID | str, for_write: bool = False
) -> Notification:
    # One condition per line: only the recipient, and only in-app rows (e-mail/SMS are not
    # something a client reads back).
    mine = Notification.objects.filter(recipient_id=user.id).filter(channel=Channel.IN_APP)
    return audited_get(
        mine,
        user=user,
        object_id=notification_id,
        object_type="notification",
        action=Action.UPDATE if for_write else Action.READ,
        patient_id_of=lambda _notification: own_patient_id(user),
    )


def access_push_subscription(
    *, user: User, subscription_id: UUID | str, for_write: bool = False
) -> PushSubscription:
    """A browser subscription is its user's alone, like their notifications."""
    return audited_get(
        PushSubscription.objects.filter(user_id=user.id),
        user=user,
        object_id=subscription_id,
        object_type="push_subscription",
        action=Action.DELETE if for_write else Action.READ,
        patient_id_of=lambda _subscription: own_patient_id(user),
    )


def own_patient_id(user: User) -> UUID | None:
    """The audit trail files a patient's own notifications under their patient id."""
    patient = getattr(user, "patient", None) if user.is_patient else None
    return patient.id if patient is not None else None
