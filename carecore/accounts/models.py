"""Users and roles, patient and clinician profiles, care teams and break-glass grants.

Who may see a patient's data is decided in `access.py` from these rows; nothing here decides it.
"""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any, NoReturn

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from carecore.common.phone_numbers import PhoneNumberField

from .us_states import US_STATE_CHOICES
from .validators import validate_timezone


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINICIAN = "clinician", "Clinician"
    COORDINATOR = "coordinator", "Care coordinator"
    SCHEDULER = "scheduler", "Scheduler"
    ADMIN = "admin", "Admin"


# The role sets endpoints and services admit; declared once, here.
ALL_ROLES = frozenset(Role)
STAFF_ROLES = frozenset({Role.CLINICIAN, Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})
CARE_TEAM_ROLES = frozenset({Role.CLINICIAN, Role.COORDINATOR})
# Who may read clinical data (answers, scores, plans) at all: schedulers never do (minimum
# necessary), whatever rows the access helpers would show them.
CLINICAL_READER_ROLES = frozenset({Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN})
CLINICAL_STAFF_ROLES = frozenset({Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        # Only for tests, shells and createsuperuser; application code uses the services.
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        fields.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


def full_name(first_name: str, last_name: str) -> str:
    """A person's name as every page and API shows it (also for names read as plain columns)."""
    return f"{first_name} {last_name}".strip()


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=Role.choices)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    # The field comes from an untyped library (pyproject.toml, mypy), so its values are `Any` as
    # they were before it was wrapped (carecore/common/phone_numbers.py).
    phone: Any = PhoneNumberField(blank=True)
    # What the person likes to be called (greetings); legal names stay in first/last name.
    preferred_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    # Django admin access; granted to admins and schedulers by the services, never by sign-up.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(role__in=[choice.value for choice in Role]),
                name="user_role_valid",
            ),
        ]

    def __str__(self) -> str:
        # Shown in the admin; an email is not clinical data but still never goes to logs.
        return self.email

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT


class Patient(models.Model):
    """A patient's clinical identity; `id` is the `patient_id` of the API and the FHIR Patient."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="patient")
    date_of_birth = models.DateField()
    state = models.CharField(max_length=2, choices=US_STATE_CHOICES)
    created_at = models.DateTimeField(default=now)
    # When the patient's demographics last changed (name, e-mail, phone, active, birth date,
    # state): FHIR's Patient.meta.lastUpdated and `_since`. Kept by database triggers
    # (migration 0006), so admin edits and every service that saves a user move it too.
    updated_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"Patient {self.id}"


class Credential(models.TextChoices):
    MD = "MD", "Doctor of Medicine"
    DO = "DO", "Doctor of Osteopathic Medicine"
    NP = "NP", "Nurse Practitioner"
    PA = "PA", "Physician Assistant"


class Clinician(models.Model):
    """A clinician's public profile; `id` is the API clinician id and the FHIR Practitioner id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="clinician")
    credentials = models.CharField(max_length=4, choices=Credential.choices)
    specialties = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    licensed_states = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    visit_types = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    bio = models.TextField(blank=True)
    accepting_new_patients = models.BooleanField(default=True)
    # The clinical lead is the last step of the messaging escalation ladder.
    is_clinical_lead = models.BooleanField(default=False)
    # Coordinators who work with this clinician join the care team of each new patient.
    coordinators = models.ManyToManyField(
        User,
        related_name="coordinated_clinicians",
        blank=True,
        limit_choices_to={"role": Role.COORDINATOR},
    )

    class Meta:
        indexes = [GinIndex(fields=["licensed_states"], name="clinician_states_gin")]

    def __str__(self) -> str:
        return f"{self.user.full_name}, {self.credentials}"


class CareTeam(models.Model):
    """One per patient: a lead clinician plus members. It decides who sees the patient."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="care_team")
    # Null only while no clinician is licensed in the patient's state.
    lead = models.ForeignKey(
        Clinician, on_delete=models.PROTECT, null=True, blank=True, related_name="led_care_teams"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Care team {self.id}"


class CareTeamMember(models.Model):
    """Membership row; the lead clinician has one too, so access is one indexed lookup."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="care_team_memberships")
    added_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["care_team", "user"], name="care_team_member_unique"),
        ]
        indexes = [models.Index(fields=["user", "care_team"])]

    def __str__(self) -> str:
        return f"Member {self.user_id} of care team {self.care_team_id}"


class GrantImmutable(Exception):
    """A break-glass grant was about to be changed or deleted: grants are the record of why
    someone read a patient's data, so they are written once and kept (the database refuses
    too, migration 0005)."""


class BreakGlassGrant(models.Model):
    """Time-limited, audited, read-only access to one patient for staff outside the care team.

    Immutable once written, reason included: `save` refuses an existing row, `delete` refuses
    always, and a database trigger refuses UPDATE and DELETE from anything else (a queryset's
    `update()`, the admin, SQL)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="break_glass_grants")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "patient", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="break_glass_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Break-glass grant {self.id}"

    # The model guards its own immutability (not business logic in `save`): every way to
    # change a grant must fail, not only the write paths we wrote.
    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise GrantImmutable(f"Break-glass grant {self.pk} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise GrantImmutable(f"Break-glass grant {self.pk} cannot be deleted.")


class PhoneChange(models.Model):
    """A new phone number waiting for its owner to type the code sent to it. Until then SMS
    keep going to the old number (or none), so a typo never sends someone's messages to a
    stranger. Only a keyed hash of the code is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="phone_changes")
    phone: Any = PhoneNumberField()
    code_hash = models.CharField(max_length=128)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"Phone change {self.id}"


class MfaEnrollmentCode(models.Model):
    """A one-time code e-mailed to a staff member who asked to set up their first
    authenticator. The password alone does not enrol a device: whoever enrols must also read
    the account's mailbox. Only a keyed hash of the code is stored; it is single use, expires
    after a few minutes and allows a few guesses."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_enrollment_codes")
    code_hash = models.CharField(max_length=128)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"MFA enrolment code {self.id}"
