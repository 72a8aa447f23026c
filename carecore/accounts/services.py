"""Writes for accounts, authentication, care teams and break-glass. One write path for views,
admin, commands and tests. Each function owns its transaction and its audit events."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework import status

from carecore.audit.models import Action, Outcome
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

from .access import Purpose, access_patient
from .models import (
    STAFF_ROLES,
    BreakGlassGrant,
    CareTeam,
    CareTeamMember,
    Clinician,
    Patient,
    PhoneChange,
    Role,
    User,
)
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
    default_message = "Set up an authenticator app before signing in (see /api/v1/auth/mfa/)."


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
        raise ValidationFailed(
            fields={"email": ["An account with this email already exists."]}
        ) from error
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
    """A new bearer token; only its hash is stored (django-rest-knox)."""
    _instance, token = AuthToken.objects.create(user=user, expiry=settings.REST_KNOX["TOKEN_TTL"])
    return str(token)


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


def auth_logout(*, user: User, token: AuthToken | None) -> None:
    """Revoke the token this request was made with."""
    if token is not None:
        token.delete()
    audit_record(actor=user, object_type="session", action=Action.LOGOUT)


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


# --- TOTP enrolment (first factor: the password) ----------------------------------------------


@transaction.atomic
def mfa_enrollment_start(*, request: HttpRequest, email: str, password: str) -> str:
    """Create a fresh, unconfirmed TOTP device and return its otpauth:// provisioning URI.

    Refused once the user has a confirmed device: replacing one is an admin's job.
    """
    user = _authenticate_password(request, email, password)
    if _confirmed_totp_device(user) is not None:
        raise Forbidden("An authenticator is already set up. Ask an admin to reset it.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    audit_record(actor=user, object_type="mfa_device", object_id=device.id, action=Action.CREATE)
    return str(device.config_url)


@transaction.atomic
def mfa_enrollment_confirm(*, request: HttpRequest, email: str, password: str, otp: str) -> User:
    user = _authenticate_password(request, email, password)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise NotFound("No authenticator set-up is in progress.")
    if not device.verify_token(otp.strip()):
        raise ValidationFailed(fields={"otp": ["The code is not correct."]})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=user, object_type="mfa_device", object_id=device.id, action=Action.UPDATE)
    return user


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
    change = (
        PhoneChange.objects.select_for_update()
        .filter(user=user, confirmed_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )
    if change is None or change.attempts >= PHONE_CODE_MAX_ATTEMPTS:
        return None
    if not constant_time_compare(change.code_hash, _phone_code_hash(change.id, code)):
        change.attempts += 1
        change.save(update_fields=["attempts"])
        return None
    change.confirmed_at = timezone.now()
    change.save(update_fields=["confirmed_at"])
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
