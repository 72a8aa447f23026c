"""The admin's "send a password reset e-mail": the only way staff can get a patient's password
changed (docs/security.md, "Admin").

Staff in the admin never set or see a patient's password; they send the account's own address
a reset link. It is the link the patient portal's "forgot password" sends (patient_web, Django's
one-time token, which stops working once the password changes, once the user signs in again,
and after PASSWORD_RESET_TIMEOUT), and it opens the same page, whose form saves through
`services.user_password_reset` (validators, every API token revoked, audited).
"""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.notifications.links import absolute_url, password_reset_page

from .models import Role, User

SUBJECT = "Reset your CareCore password"
BODY = """\
Someone asked for a new password for your CareCore account, or our staff sent you this link
because you asked them to. To choose a new password, open this link:

{link}

The link works once and for a limited time. If you did not ask for this, you can ignore this
e-mail: your password stays as it is.
"""


def _patient_id(user: User) -> object:
    if user.role != Role.PATIENT:
        return None
    return getattr(getattr(user, "patient", None), "id", None)


def password_reset_link(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return absolute_url(password_reset_page(uid, default_token_generator.make_token(user)))


@transaction.atomic
def password_reset_send(*, actor: User | None, user: User) -> None:
    """E-mail `user` a one-time link to choose a new password; audited. Sent after commit, to
    the user's own address only. The message holds the link and nothing about the person."""
    audit_record(
        actor=actor,
        object_type="user",
        object_id=user.id,
        patient_id=_patient_id(user),  # type: ignore[arg-type]
        action=Action.UPDATE,
        detail={"password_reset_sent": True},
    )
    message = EmailMessage(
        subject=SUBJECT,
        body=BODY.format(link=password_reset_link(user=user)),
        to=[user.email],
    )
    transaction.on_commit(lambda: message.send(fail_silently=False), robust=True)
