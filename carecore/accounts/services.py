"""Writes for accounts, authentication, care teams and break-glass. One write path for views,
admin, commands and tests. Each function owns its transaction and its audit events."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from celery import current_app
from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.crypto import create_token_string
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import status

from carecore.audit.models import Action, AuditEvent, Outcome
from carecore.audit.services import audit_record
from carecore.common.errors import (
    ApplicationError,
    Forbidden,
    NotFound,
    ValidationFailed,
    log_unhandled,
)
from carecore.notifications.links import break_glass_grant_page
from carecore.notifications.models import Event
from carecore.notifications.services import notify
from carecore.notifications.sms import SmsMessage, get_sms_backend, sms_enabled

from . import sessions
from .access import Purpose, access_patient
from .lockout import lockout_clear
from .models import (
    STAFF_ROLES,
    BreakGlassGrant,
    CareTeam,
    CareTeamMember,
    Clinician,
    MfaEnrollmentCode,
    Patient,
    PhoneChange,
    Role,
    User,
)
from .security_mail import security_mail, security_mail_send
from .staff_groups import group_for_role
from .validators import is_valid_timezone


class InvalidCredentials(ApplicationError):
    code = "invalid_credentials"
    default_message = "The email or password is not correct."


class LoginLockedOut(ApplicationError):
    code = "throttled"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_message = "Too many failed sign-in attempts. Try again later."


class OtpRequired(ApplicationError):
    code = "otp_required"
    default_message = "Enter the 6-digit code from your authenticator app."


class MfaEnrollmentRequired(ApplicationError):
    code = "mfa_enrollment_required"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = (
        "Set up an authenticator app before signing in (POST /api/v1/auth/mfa/enroll/code/)."
    )


class EmailTaken(ValidationFailed):
    """The address already has an account."""


# --- users -----------------------------------------------------------------------------------


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as error:
        raise ValidationFailed(fields={"password": list(error.messages)}) from error


def _check_timezone(value: str) -> None:
    if not is_valid_timezone(value):
        raise ValidationFailed(
            fields={"timezone": ["Unknown time zone; use an IANA name such as America/New_York."]}
        )


def _create_user(
    *,
    email: str,
    password: str | None,
    first_name: str,
    last_name: str,
    role: str,
    timezone_name: str,
    phone: str = "",
    enforce_password_policy: bool = True,
) -> User:
    _check_timezone(timezone_name)
    user = User(
        email=email.strip().lower(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        timezone=timezone_name,
        phone=phone,
        # The Django admin is for operations and front-desk staff; clinical work is in the API.
        is_staff=role in (Role.ADMIN, Role.SCHEDULER),
    )
    if password is None:
        user.set_unusable_password()
    else:
        if enforce_password_policy:
            _check_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as error:
        # Staff tools need to know; public sign-up never shows this (`patient_sign_up`).
        taken = {"email": ["An account with this email already exists."]}
        raise EmailTaken(fields=taken) from error
    _join_role_group(user)
    return user


def _join_role_group(user: User) -> None:
    """Admin permissions come with the role (carecore/accounts/staff_groups.py)."""
    name = group_for_role(user.role)
    if name is not None:
        user.groups.add(Group.objects.get(name=name))


@transaction.atomic
def patient_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    state: str,
    timezone_name: str,
    phone: str = "",
    enforce_password_policy: bool = True,
) -> Patient:
    """Sign a patient up and put them on a care team. The role is always `patient`.

    `enforce_password_policy=False` exists for seed_demo's shared demo password only.
    """
    if date_of_birth >= timezone.localdate():
        raise ValidationFailed(fields={"date_of_birth": ["Date of birth must be in the past."]})
    user = _create_user(
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        role=Role.PATIENT,
        timezone_name=timezone_name,
        phone=phone,
        enforce_password_policy=enforce_password_policy,
    )
    patient = Patient.objects.create(user=user, date_of_birth=date_of_birth, state=state)
    care_team_assign_new_patient(patient=patient)
    audit_record(
        actor=user,
        object_type="patient",
        object_id=patient.id,
        patient_id=patient.id,
        action=Action.CREATE,
    )
    return patient


# --- public sign-up (docs/security.md, "Sign-up enumeration") ---------------------------------

SIGN_UP_NOTICE_TASK = "accounts.sign_up_notice"


@dataclass(frozen=True)
class SignUp:
    """What sign-up answers: the new patient's user and a bearer token. For an address that
    already has an account, an unsaved stand-in of the same shape and a token that was never
    issued (it authenticates nothing); the owner is told by e-mail instead."""

    user: User
    token: str
    created: bool


def patient_sign_up(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    state: str,
    timezone_name: str,
    phone: str = "",
    issue_token: bool = True,
) -> SignUp:
    """Public sign-up (`issue_token=False`: the portal's page, which signs in with a session).

    The same checks run in the same order whether or not the address is taken (every field,
    the password policy and its hashing), so the answer, and all but a few milliseconds of its
    timing, do not tell a caller whether the address has an account."""
    try:
        patient = patient_register(
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            date_of_birth=date_of_birth,
            state=state,
            timezone_name=timezone_name,
            phone=phone,
        )
    except EmailTaken:
        return _sign_up_address_taken(
            email=email,
            first_name=first_name,
            last_name=last_name,
            state=state,
            date_of_birth=date_of_birth,
            timezone_name=timezone_name,
            phone=phone,
        )
    token = token_issue(user=patient.user) if issue_token else ""
    return SignUp(user=patient.user, token=token, created=True)


def _sign_up_address_taken(
    *,
    email: str,
    first_name: str,
    last_name: str,
    state: str,
    date_of_birth: date,
    timezone_name: str,
    phone: str,
) -> SignUp:
    address = email.strip().lower()
    owner = User.objects.filter(email__iexact=address).first()
    if owner is not None:
        audit_record(
            actor=None,
            object_type="user",
            object_id=owner.id,
            action=Action.CREATE,
            outcome=Outcome.DENIED,
            detail={"reason": "sign_up_address_taken"},
        )
        notice_id = str(uuid.uuid4())
        transaction.on_commit(lambda: _sign_up_notice_enqueue(owner.id, notice_id))
    stand_in = User(
        email=address,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=Role.PATIENT,
        timezone=timezone_name,
        phone=phone,
    )
    stand_in.patient = Patient(user=stand_in, date_of_birth=date_of_birth, state=state)
    return SignUp(
        user=stand_in, token=knox_settings.TOKEN_PREFIX + create_token_string(), created=False
    )


def _sign_up_notice_enqueue(user_id: Any, notice_id: str) -> None:
    # A task, not a send in the request: the provider's latency would time the answer apart.
    try:
        current_app.tasks[SIGN_UP_NOTICE_TASK].apply_async(
            args=[str(user_id), notice_id],
            retry_policy=settings.CARECORE_NOTIFICATIONS_PUBLISH_RETRY_POLICY,
        )
    except Exception as error:  # a broker outage must not turn the answer into a 500
        log_unhandled(error)


def sign_up_notice_send(*, user_id: Any, notice_id: str) -> None:
    """Tell the owner of an address that someone tried to sign up with it (the Celery task).
    Provider errors propagate, so the task retries; `notice_id` keeps a retry from sending
    twice where the provider honours idempotency keys."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    security_mail(
        to=user.email,
        subject="Someone tried to create a CareCore account with your e-mail address",
        body=(
            "Someone tried to create a new CareCore account with this e-mail address. It "
            "already has an account, so no new account was made and nothing in yours "
            "changed.\n\n"
            "If it was you, sign in with your existing account instead. If it was not, you "
            "need not do anything; if it keeps happening, tell the clinic.\n"
        ),
        key=f"sign-up-notice-{notice_id}",
    ).send(fail_silently=False)


@transaction.atomic
def staff_user_create(
    *,
    actor: User | None,
    email: str,
    password: str | None,
    first_name: str,
    last_name: str,
    role: str,
    timezone_name: str = "America/New_York",
    phone: str = "",
    enforce_password_policy: bool = True,
) -> User:
    """Create a staff account (admins only, via the admin site or seed_demo)."""
    if role not in STAFF_ROLES:
        raise ValidationFailed(
            fields={"role": ["Staff role must be clinician, coordinator, scheduler or admin."]}
        )
    user = _create_user(
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        role=role,
        timezone_name=timezone_name,
        phone=phone,
        enforce_password_policy=enforce_password_policy,
    )
    audit_record(actor=actor, object_type="user", object_id=user.id, action=Action.CREATE)
    return user


@transaction.atomic
def clinician_profile_save(
    *,
    user: User,
    credentials: str,
    licensed_states: list[str],
    specialties: list[str] | None = None,
    visit_types: list[str] | None = None,
    bio: str = "",
    is_clinical_lead: bool = False,
    coordinators: list[User] | None = None,
) -> Clinician:
    """Create or update a clinician's profile (licensed states decide whom they may treat)."""
    if user.role != Role.CLINICIAN:
        raise ValidationFailed(fields={"user": ["Only clinicians have a clinician profile."]})
    clinician, _ = Clinician.objects.update_or_create(
        user=user,
        defaults={
            "credentials": credentials,
            "licensed_states": sorted({state.upper() for state in licensed_states}),
            "specialties": specialties or [],
            "visit_types": visit_types or ["new", "follow_up"],
            "bio": bio,
            "is_clinical_lead": is_clinical_lead,
        },
    )
    if coordinators is not None:
        clinician.coordinators.set(coordinators)
    return clinician


# --- care teams --------------------------------------------------------------------------------


def _least_loaded_clinician(state: str) -> Clinician | None:
    """The clinician licensed in `state` with the fewest patients (ties: oldest profile first).

    Takes row locks on the candidates so two sign-ups at once see each other's assignment.
    """
    candidate_ids = list(
        Clinician.objects.select_for_update()
        .filter(
            licensed_states__contains=[state], accepting_new_patients=True, user__is_active=True
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not candidate_ids:
        return None
    return (
        Clinician.objects.filter(id__in=candidate_ids)
        .annotate(patient_count=Count("led_care_teams"))
        .order_by("patient_count", "user__date_joined", "id")
        .select_related("user")
        .first()
    )


def _sync_memberships(care_team: CareTeam, users: list[User]) -> None:
    wanted = {user.id for user in users}
    care_team.memberships.exclude(user_id__in=wanted).delete()
    existing = set(care_team.memberships.values_list("user_id", flat=True))
    CareTeamMember.objects.bulk_create(
        [CareTeamMember(care_team=care_team, user_id=user_id) for user_id in wanted - existing]
    )


@transaction.atomic
def care_team_assign_new_patient(*, patient: Patient) -> CareTeam:
    """Lead: the least-loaded clinician licensed in the patient's state; members: their
    coordinators. With no such clinician the team has no lead until staff assign one."""
    lead = _least_loaded_clinician(patient.state)
    care_team = CareTeam.objects.create(patient=patient, lead=lead)
    if lead is not None:
        _sync_memberships(care_team, [lead.user, *lead.coordinators.filter(is_active=True)])
    return care_team


@transaction.atomic
def care_team_set(
    *, actor: User | None, patient: Patient, lead: Clinician | None, members: list[User]
) -> CareTeam:
    """Staff change a patient's care team. The lead must be licensed in the patient's state."""
    care_team = CareTeam.objects.select_for_update().get(patient=patient)
    if lead is not None and patient.state not in lead.licensed_states:
        raise ValidationFailed(
            fields={"lead": ["The lead is not licensed in the patient's state."]}
        )
    invalid = [
        member for member in members if member.role not in (Role.CLINICIAN, Role.COORDINATOR)
    ]
    if invalid:
        raise ValidationFailed(fields={"members": ["Members must be clinicians or coordinators."]})
    care_team.lead = lead
    care_team.save(update_fields=["lead", "updated_at"])
    _sync_memberships(care_team, ([lead.user] if lead else []) + members)
    audit_record(
        actor=actor,
        object_type="care_team",
        object_id=care_team.id,
        patient_id=patient.id,
        action=Action.UPDATE,
    )
    return care_team


def care_team_change(
    *, actor: User, patient_id: Any, lead_clinician_id: Any, member_user_ids: list[Any]
) -> CareTeam:
    """The API's entry to `care_team_set`: admins for any patient, clinicians only as the
    current lead of that patient's team (others get 404, as for any patient they cannot see)."""
    patient = _patient_for_care_team_change(actor, patient_id)
    lead = None
    if lead_clinician_id is not None:
        lead = Clinician.objects.select_related("user").filter(pk=lead_clinician_id).first()
        if lead is None:
            raise ValidationFailed(fields={"lead": ["No such clinician."]})
    members = list(User.objects.filter(pk__in=member_user_ids, is_active=True))
    if len(members) != len(set(member_user_ids)):
        raise ValidationFailed(fields={"members": ["Unknown or inactive user."]})
    return care_team_set(actor=actor, patient=patient, lead=lead, members=members)


def _patient_for_care_team_change(actor: User, patient_id: Any) -> Patient:
    if actor.role == Role.ADMIN:
        # Operations work on who is on the team; it reads no clinical data.
        patient = Patient.objects.filter(pk=patient_id).first()
        if patient is None:
            raise NotFound()
        return patient
    patient = access_patient(
        user=actor,
        patient_id=patient_id,
        purpose=Purpose.DEMOGRAPHICS,
        for_write=True,
        object_type="care_team",
    )
    if patient.care_team.lead is None or patient.care_team.lead.user_id != actor.id:
        raise Forbidden("Only the lead clinician or an admin can change the care team.")
    return patient


# --- authentication ------------------------------------------------------------------------


def _confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def _record_failed_login(request: HttpRequest, email: str, user: User | None) -> None:
    # Counted by django-axes like a wrong password (same account-and-ip key).
    user_login_failed.send(sender=User, credentials={"email": email}, request=request)
    audit_record(
        actor=user,
        object_type="session",
        object_id="",
        action=Action.LOGIN_FAILED,
        outcome=Outcome.FAILED,
    )


def _authenticate_password(request: HttpRequest, email: str, password: str) -> User:
    email = email.strip().lower()
    user = authenticate(request, email=email, password=password)
    if getattr(request, "axes_locked_out", False):
        raise LoginLockedOut()
    if user is None:
        audit_record(
            actor=None, object_type="session", action=Action.LOGIN_FAILED, outcome=Outcome.FAILED
        )
        raise InvalidCredentials()
    return user


def staff_mfa_required(user: User) -> bool:
    return bool(settings.CARECORE_REQUIRE_STAFF_MFA) and user.role in STAFF_ROLES


def _verify_otp(request: HttpRequest, user: User, otp: str | None) -> None:
    device = _confirmed_totp_device(user)
    if device is None:
        raise MfaEnrollmentRequired()
    if not otp:
        raise OtpRequired()
    if not device.verify_token(otp.strip()):
        _record_failed_login(request, user.email, user)
        raise InvalidCredentials("The email, password or code is not correct.")


def token_issue(*, user: User) -> str:
    """A new bearer token; only its hash is stored (django-rest-knox). Idle timeout, lifetime
    and the per-user cap: carecore/accounts/sessions.py."""
    return sessions.token_issue(user=user)


def auth_login(
    *, request: HttpRequest, email: str, password: str, otp: str | None = None
) -> tuple[User, str]:
    """Password (and TOTP for staff when required) → a bearer token.

    `request` is the Django HttpRequest: django-axes keys lockouts on its client ip.
    """
    user = _authenticate_password(request, email, password)
    if staff_mfa_required(user):
        _verify_otp(request, user, otp)
    user_logged_in.send(sender=User, request=request, user=user)  # resets the failure count
    token = token_issue(user=user)
    audit_record(actor=user, object_type="session", action=Action.LOGIN)
    return user, token


def auth_logout(*, request: HttpRequest, user: User, token: AuthToken | None) -> None:
    """Revoke the token this request was made with and end the request's Django session (a
    client that holds both, e.g. a browser signed in to the admin, is signed out of both)."""
    if token is not None:
        token.delete()
    audit_record(actor=user, object_type="session", action=Action.LOGOUT)
    django_logout(request)


def auth_session_login(
    *, request: HttpRequest, email: str, password: str, otp: str | None = None
) -> User:
    """Password (and TOTP for staff when required) -> a Django session, for the web pages.

    The same lockout (django-axes on account and ip), MFA rule and audit as `auth_login`; the
    session key and CSRF token are rotated (`django.contrib.auth.login`, which also sends
    `user_logged_in`, resetting the failure count).
    """
    user = _authenticate_password(request, email, password)
    if staff_mfa_required(user):
        _verify_otp(request, user, otp)
    django_login(request, user)
    audit_record(actor=user, object_type="session", action=Action.LOGIN, detail={"web": True})
    return user


def auth_session_logout(*, request: HttpRequest) -> None:
    """End the web session (the session row is deleted, the cookie forgotten)."""
    user = request.user
    if user.is_authenticated:
        audit_record(
            actor=user,
            object_type="session",
            action=Action.LOGOUT,
            detail={"web": True},
        )
    django_logout(request)


@transaction.atomic
def user_password_reset(*, user: User, new_password: str) -> None:
    """Set a new password through a valid reset link (the link's token was checked by the
    caller, Django's PasswordResetConfirmView): every bearer token of the user is revoked, as
    on a password change, since whoever held the old password may hold one."""
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke(user=user)
    # The owner proved the mailbox and the old password is gone: sign-in lockouts (guesses at
    # the old password) lift too. docs/security.md, "Per-account lockout".
    lockouts_cleared = lockout_clear(email=user.email)
    audit_record(
        actor=user,
        object_type="user",
        object_id=user.id,
        action=Action.UPDATE,
        detail={"field": "password", "reset": True, "lockouts_cleared": lockouts_cleared},
    )


def user_tokens_revoke(*, user: User) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def user_password_change(*, user: User, current_password: str, new_password: str) -> str:
    """Change the password, revoke every token of the user, and issue a fresh one."""
    if not user.check_password(current_password):
        raise InvalidCredentials("The current password is not correct.")
    _check_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke(user=user)
    audit_record(
        actor=user,
        object_type="user",
        object_id=user.id,
        action=Action.UPDATE,
        detail={"field": "password"},
    )
    return token_issue(user=user)


# --- TOTP enrolment (the password and a code e-mailed to the account) ----------------------
#
# Three steps, each answered the same way whatever the account is (unknown, wrong password,
# patient, staff with an authenticator already, staff without one), so none of them tells a
# caller which case applies:
#   1. `mfa_enrollment_code_send`: email + password -> a one-time code is e-mailed to staff who
#      have no confirmed authenticator (a notice to those who do; nothing to anyone else).
#   2. `mfa_enrollment_start`: email + password + that code -> an otpauth:// URI.
#   3. `mfa_enrollment_confirm`: email + password + a first TOTP code -> the device is confirmed.
# Every refusal counts as a failed sign-in (django-axes and the audit trail). The password is
# checked before any transaction of ours opens, so those records are committed at once and
# nothing a later step raises can roll them back.

MFA_CODE_VALID_FOR = timedelta(minutes=15)
MFA_CODE_MAX_ATTEMPTS = 5
# A few codes an hour cover a lost e-mail; more would only flood the staff member's inbox.
MFA_CODES_PER_HOUR = 5


class MfaEnrollmentRefused(ApplicationError):
    """The one answer to every refused enrolment step."""

    code = "invalid_credentials"
    default_message = "The email, password or code is not correct."


def _password_user(request: HttpRequest, email: str, password: str) -> User | None:
    """The user these credentials belong to, or None (the failure counted and audited).

    Must not run inside a transaction of ours: see the comment above."""
    try:
        return _authenticate_password(request, email, password)
    except InvalidCredentials:
        return None


def _may_enrol(user: User) -> bool:
    """Only staff enrol (patients never use a second factor); replacing a confirmed
    authenticator is an admin's job (they delete it, then the staff member enrols again)."""
    return user.role in STAFF_ROLES and _confirmed_totp_device(user) is None


def _refuse_enrollment(request: HttpRequest, user: User | None) -> MfaEnrollmentRefused:
    if user is not None:  # a wrong password was counted by authenticate() already
        _record_failed_login(request, user.email, user)
    return MfaEnrollmentRefused()


def _mfa_code_hash(code_id: Any, code: str) -> str:
    # Keyed by the secret key and bound to this row, like the phone codes.
    return salted_hmac("carecore.mfa-enrollment", f"{code_id}:{code}").hexdigest()


def mfa_enrollment_code_send(*, request: HttpRequest, email: str, password: str) -> None:
    """Step 1. Returns nothing whatever happened: the caller learns nothing from it."""
    user = _password_user(request, email, password)
    if user is None or user.role not in STAFF_ROLES:
        return
    if _confirmed_totp_device(user) is not None:
        _mfa_already_enrolled_notice(user)
        return
    _mfa_code_issue(user)


@transaction.atomic
def _mfa_code_issue(user: User) -> MfaEnrollmentCode | None:
    User.objects.select_for_update().filter(pk=user.pk).first()  # one issuer at a time
    now = timezone.now()
    recent = MfaEnrollmentCode.objects.filter(user=user, created_at__gte=now - timedelta(hours=1))
    if recent.count() >= MFA_CODES_PER_HOUR:
        return None  # silently: a 429 here would tell a caller this account can still enrol
    MfaEnrollmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    code = f"{secrets.randbelow(10**8):08d}"
    row = MfaEnrollmentCode(user=user, expires_at=now + MFA_CODE_VALID_FOR)
    row.code_hash = _mfa_code_hash(row.id, code)
    row.save(force_insert=True)
    audit_record(
        actor=user, object_type="mfa_enrollment_code", object_id=row.id, action=Action.CREATE
    )
    minutes = int(MFA_CODE_VALID_FOR.total_seconds() // 60)
    security_mail_send(
        to=user.email,
        subject="Your CareCore authenticator set-up code",
        body=(
            f"Your code to set up an authenticator app for CareCore is {code}.\n\n"
            f"It works once and expires in {minutes} minutes. If you did not ask for it, "
            "someone knows your password: change it now and tell your CareCore admin.\n"
        ),
        key=f"mfa-enrollment-{row.id}",
    )
    return row


def _mfa_already_enrolled_notice(user: User) -> None:
    an_hour_ago = timezone.now() - timedelta(hours=1)
    notices = AuditEvent.objects.filter(
        actor_id=user.id,
        object_type="mfa_enrollment_notice",
        occurred_at__gte=an_hour_ago,
    )
    if notices.count() >= MFA_CODES_PER_HOUR:
        return
    event = audit_record(
        actor=user, object_type="mfa_enrollment_notice", object_id=user.id, action=Action.CREATE
    )
    security_mail_send(
        to=user.email,
        subject="Someone tried to set up an authenticator on your CareCore account",
        body=(
            "Someone signed in with your password and asked to set up a new authenticator app "
            "for your CareCore account. Your account already has one, so nothing changed.\n\n"
            "If this was not you, change your password now and tell your CareCore admin.\n"
        ),
        key=f"mfa-enrollment-notice-{event.pk}",
    )


def mfa_enrollment_start(*, request: HttpRequest, email: str, password: str, code: str) -> str:
    """Step 2: a fresh, unconfirmed TOTP device; returns its otpauth:// provisioning URI."""
    user = _password_user(request, email, password)
    if user is None or not _may_enrol(user):
        raise _refuse_enrollment(request, user)
    uri = _mfa_code_use(user, code.strip())
    if uri is None:
        raise _refuse_enrollment(request, user)
    return uri


_CodeRow = TypeVar("_CodeRow", MfaEnrollmentCode, PhoneChange)


def _one_time_code_redeem(
    rows: QuerySet[_CodeRow],
    *,
    code: str,
    code_hash: Callable[[Any, str], str],
    used_field: str,
    max_attempts: int,
) -> _CodeRow | None:
    """The latest live code row of `rows` if `code` is its code (then marked used at
    `used_field`); else None, with a wrong guess counted. Inside the caller's transaction: the
    row is locked while it is checked, and returning (not raising) keeps the count committed."""
    row = (
        rows.select_for_update()
        .filter(**{f"{used_field}__isnull": True}, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )
    if row is None or row.attempts >= max_attempts:
        return None
    if not constant_time_compare(row.code_hash, code_hash(row.id, code)):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        return None
    setattr(row, used_field, timezone.now())
    row.save(update_fields=[used_field])
    return row


@transaction.atomic
def _mfa_code_use(user: User, code: str) -> str | None:
    """The device's URI if `code` is the user's latest live code (then used up); else None,
    with the wrong guess counted (committed: this returns rather than raises)."""
    row = _one_time_code_redeem(
        MfaEnrollmentCode.objects.filter(user=user),
        code=code,
        code_hash=_mfa_code_hash,
        used_field="used_at",
        max_attempts=MFA_CODE_MAX_ATTEMPTS,
    )
    if row is None:
        return None
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    audit_record(actor=user, object_type="mfa_device", object_id=device.id, action=Action.CREATE)
    return str(device.config_url)


def mfa_enrollment_confirm(*, request: HttpRequest, email: str, password: str, otp: str) -> User:
    """Step 3: the first code from the authenticator confirms the device."""
    user = _password_user(request, email, password)
    if user is None or not _may_enrol(user):
        raise _refuse_enrollment(request, user)
    if not _mfa_device_confirm(user, otp.strip()):
        raise _refuse_enrollment(request, user)
    return user


@transaction.atomic
def _mfa_device_confirm(user: User, otp: str) -> bool:
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(otp):
        return False  # verify_token's own failure count is saved (this returns, not raises)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=user, object_type="mfa_device", object_id=device.id, action=Action.UPDATE)
    return True


# --- break-glass ------------------------------------------------------------------------------


@transaction.atomic
def break_glass_open(*, user: User, patient_id: Any, reason: str) -> BreakGlassGrant:
    """Time-limited, read-only access to one patient outside the care team, with a written
    reason. The grant is immutable (model and database trigger). The patient's lead clinician
    and every admin (but the holder) get an in-app notice naming only the grant's id."""
    if user.role not in (Role.CLINICIAN, Role.ADMIN):
        raise Forbidden("Only clinicians and admins can use break-glass access.")
    if len(reason.strip()) < 20:
        raise ValidationFailed(fields={"reason": ["Explain why in at least 20 characters."]})
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise NotFound()
    now = timezone.now()
    grant = BreakGlassGrant.objects.create(
        user=user,
        patient=patient,
        reason=reason.strip(),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.CARECORE_BREAK_GLASS_MINUTES),
    )
    audit_record(
        actor=user,
        object_type="break_glass_grant",
        object_id=grant.id,
        patient_id=patient.id,
        action=Action.BREAK_GLASS,
    )
    _announce_break_glass(grant)
    return grant


def _announce_break_glass(grant: BreakGlassGrant) -> None:
    """In-app notice (the outbox, in this transaction) of a new grant to those who review it:
    the patient's lead clinician and the admins. Ids only: the notice names no patient."""
    reviewers = (
        User.objects.filter(
            Q(role=Role.ADMIN) | Q(clinician__led_care_teams__patient_id=grant.patient_id),
            is_active=True,
        )
        .exclude(pk=grant.user_id)
        .distinct()
    )
    notify(
        event=Event.BREAK_GLASS_OPENED,
        recipients=list(reviewers),
        subject_type="break_glass_grant",
        subject_id=grant.id,
        link_path=break_glass_grant_page(grant.id),
    )


# --- own profile ---------------------------------------------------------------------------

PHONE_CODE_VALID_FOR = timedelta(minutes=10)
PHONE_CODE_MAX_ATTEMPTS = 5
# Codes cost an SMS each: a few an hour is plenty for a typo or two.
PHONE_CODES_PER_HOUR = 5


class SmsUnavailable(ApplicationError):
    code = "sms_unavailable"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This clinic does not send SMS, so a phone number cannot be confirmed."


class TooManyPhoneCodes(ApplicationError):
    code = "throttled"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_message = "Too many codes were sent to new numbers. Try again in an hour."


class InvalidPhoneCode(ApplicationError):
    code = "invalid_code"
    default_message = "That code is not right, or it has expired. Ask for a new one."


@dataclass(frozen=True)
class ProfileUpdate:
    user: User
    pending_phone_change: PhoneChange | None


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    timezone_name: str | None = None,
    preferred_name: str | None = None,
    phone: str | None = None,
) -> ProfileUpdate:
    """A user's own time zone, preferred name and phone number (`None`: leave as is).

    A new phone number is not used until confirmed with the code sent to it
    (`user_phone_confirm`); an empty one removes the number at once (no SMS go anywhere).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    changed: list[str] = []
    if timezone_name is not None and timezone_name != user.timezone:
        _check_timezone(timezone_name)
        user.timezone = timezone_name
        changed.append("timezone")
    if preferred_name is not None and preferred_name.strip() != user.preferred_name:
        user.preferred_name = preferred_name.strip()
        changed.append("preferred_name")
    pending = None
    if phone == "" and user.phone:
        user.phone = ""
        changed.append("phone")
        _phone_changes_void(user)
    elif phone and phone != str(user.phone):
        pending = _phone_change_start(user, phone)
    if changed:
        user.save(update_fields=changed)
    if changed or pending:
        audit_record(
            actor=user,
            object_type="user",
            object_id=user.id,
            action=Action.UPDATE,
            detail={"fields": changed, "phone_confirmation_sent": pending is not None},
        )
    return ProfileUpdate(user=user, pending_phone_change=pending)


def _phone_code_hash(change_id: Any, code: str) -> str:
    # Keyed by the secret key and bound to this change, so a leaked row cannot be brute-forced
    # offline into a code for another change.
    return salted_hmac("carecore.phone-change", f"{change_id}:{code}").hexdigest()


def _phone_change_start(user: User, phone: str) -> PhoneChange:
    if not sms_enabled():
        raise SmsUnavailable()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    if PhoneChange.objects.filter(user=user, created_at__gte=an_hour_ago).count() >= (
        PHONE_CODES_PER_HOUR
    ):
        raise TooManyPhoneCodes()
    _phone_changes_void(user)
    code = f"{secrets.randbelow(10**6):06d}"
    change = PhoneChange(user=user, phone=phone, expires_at=timezone.now() + PHONE_CODE_VALID_FOR)
    change.code_hash = _phone_code_hash(change.id, code)
    change.save(force_insert=True)
    message = SmsMessage(
        to=str(phone),
        body=f"Your CareCore code is {code}. It confirms this number and expires in "
        f"{int(PHONE_CODE_VALID_FOR.total_seconds() // 60)} minutes.",
        idempotency_key=f"phone-change-{change.id}",
    )
    # Sent once the change is committed. The code goes straight to the provider (never into
    # the outbox, a task queue or a log); if sending fails, asking again sends a new code.
    transaction.on_commit(lambda: _send_phone_code(message))
    return change


def _phone_changes_void(user: User) -> None:
    """Earlier codes stop working (kept, expired, so they still count towards the hourly cap)."""
    PhoneChange.objects.filter(
        user=user, confirmed_at__isnull=True, expires_at__gt=timezone.now()
    ).update(expires_at=timezone.now())


def _send_phone_code(message: SmsMessage) -> None:
    try:
        get_sms_backend().send(message)
    except Exception as error:  # the provider's failure must not turn a saved change into a 500
        log_unhandled(error)


def user_phone_confirm(*, user: User, code: str) -> User:
    """Make the pending number the user's phone if `code` is the one sent to it. At most
    PHONE_CODE_MAX_ATTEMPTS guesses per code; each wrong one is counted (committed) before the
    error is raised."""
    confirmed = _phone_change_try_code(user, code.strip())
    if confirmed is None:
        raise InvalidPhoneCode(fields={"code": ["Not the code we sent, or it has expired."]})
    return confirmed


@transaction.atomic
def _phone_change_try_code(user: User, code: str) -> User | None:
    change = _one_time_code_redeem(
        PhoneChange.objects.filter(user=user),
        code=code,
        code_hash=_phone_code_hash,
        used_field="confirmed_at",
        max_attempts=PHONE_CODE_MAX_ATTEMPTS,
    )
    if change is None:
        return None
    user = User.objects.select_for_update().get(pk=user.pk)
    user.phone = change.phone
    user.save(update_fields=["phone"])
    audit_record(
        actor=user,
        object_type="user",
        object_id=user.id,
        action=Action.UPDATE,
        detail={"fields": ["phone"]},
    )
    return user
