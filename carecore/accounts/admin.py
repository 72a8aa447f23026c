"""Admin for accounts. Writes go through the same services as the API.

The admin is not a side door to patients (docs/security.md, "Admin"): every patient row a page
shows is audited like an API read, nobody sets or sees a patient's password here (the patient
gets a reset e-mail instead), a patient's profile is read-only but for deactivation, and no
account, care team or break-glass grant can be deleted.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from carecore.audit.admin import AuditedRowsAdmin

from . import password_reset, services
from .models import (
    STAFF_ROLES,
    BreakGlassGrant,
    CareTeam,
    CareTeamMember,
    Clinician,
    Patient,
    Role,
    User,
)


class PasswordChangeRevokingTokens(AdminPasswordChangeForm):
    """An admin resetting a staff member's password also signs them out of every API client."""

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        services.user_tokens_revoke(user=user)
        return user


class StaffCreationForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        help_text="Leave empty and use the action “Send a password reset e-mail” afterwards.",
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role", "timezone", "phone"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role not in STAFF_ROLES:
            raise forms.ValidationError("Patients sign up themselves; create staff here.")
        return role


def _patient_id_of(user: User) -> UUID | None:
    if user.role != Role.PATIENT:
        return None
    try:
        return user.patient.id
    except Patient.DoesNotExist:
        return None


@admin.register(User)
class UserAdmin(AuditedRowsAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    # The patient profile, so auditing a page of users costs one query, not one per row.
    list_select_related = ["patient"]
    change_password_form = PasswordChangeRevokingTokens
    add_form = StaffCreationForm
    readonly_fields = ["id", "date_joined", "last_login", "role"]
    actions = ["send_password_reset"]
    audit_object_type = "user"
    fieldsets = (
        (None, {"fields": ["id", "email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "role", "timezone", "phone"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    )
    # A patient's own details are theirs to change (PATCH /api/v1/me/); here only whether the
    # account may sign in. No password field and no link to set one.
    patient_fieldsets = (
        (None, {"fields": ["id", "email"]}),
        ("Person", {"fields": ["first_name", "last_name", "role", "timezone", "phone"]}),
        ("Access", {"fields": ["is_active"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    )
    patient_readonly_fields = [
        "id",
        "email",
        "first_name",
        "last_name",
        "role",
        "timezone",
        "phone",
        "date_joined",
        "last_login",
    ]
    add_fieldsets = (
        (
            None,
            {
                "fields": [
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "timezone",
                    "phone",
                    "password",
                ]
            },
        ),
    )

    def audited_patient_id(self, obj: User) -> UUID | None:
        return _patient_id_of(obj)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path.endswith("/autocomplete/"):
            # The picker for a clinician's account: staff only. Otherwise it would be a search
            # over every patient's e-mail that no list page shows, so nothing audits it.
            results = results.exclude(role=Role.PATIENT)
        return results, may_have_duplicates

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is not None and obj.role == Role.PATIENT:
            return self.patient_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is not None and obj.role == Role.PATIENT:
            return self.patient_readonly_fields
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Accounts are deactivated, never deleted: the audit trail and the record name them.
        return False

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        user = self.get_object(request, id)
        if user is not None and user.role == Role.PATIENT:
            # Only the patient chooses their password, from a link sent to their own address.
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    @admin.action(description="Send a password reset e-mail", permissions=["change"])
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        sent = 0
        for user in queryset.filter(is_active=True):
            password_reset.password_reset_send(actor=request.user, user=user)  # type: ignore[arg-type]
            sent += 1
        self.message_user(
            request, f"Password reset e-mail sent to {sent} account(s).", messages.SUCCESS
        )
        skipped = queryset.count() - sent
        if skipped:
            self.message_user(request, f"{skipped} inactive account(s) skipped.", messages.WARNING)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.staff_user_create(
            actor=request.user,  # type: ignore[arg-type]
            email=form.cleaned_data["email"],
            password=form.cleaned_data.get("password") or None,
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            role=form.cleaned_data["role"],
            timezone_name=form.cleaned_data["timezone"],
            phone=str(form.cleaned_data.get("phone") or ""),
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = "default"


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ["__str__", "credentials", "is_clinical_lead", "accepting_new_patients"]
    list_filter = ["credentials", "is_clinical_lead", "accepting_new_patients"]
    filter_horizontal = ["coordinators"]
    autocomplete_fields = ["user"]


class CareTeamMemberInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0
    readonly_fields = ["user", "added_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CareTeam)
class CareTeamAdmin(AuditedRowsAdmin):
    """Read-only here: care teams decide access, so changes go through `care_team_set`
    (PUT /api/v1/patients/<id>/care-team/), which checks licensure and writes the audit. A care
    team names its patient: each one shown is audited."""

    list_display = ["id", "lead", "updated_at"]
    list_select_related = ["lead__user"]
    inlines = [CareTeamMemberInline]
    readonly_fields = ["patient", "lead", "created_at", "updated_at"]
    audit_object_type = "care_team"

    def audited_patient_id(self, obj: CareTeam) -> UUID | None:
        return obj.patient_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(AuditedRowsAdmin):
    """Grants are the record of who looked at whom and why: shown (and audited), never added,
    changed or deleted here."""

    list_display = ["created_at", "user", "patient", "expires_at"]
    list_select_related = ["user", "patient"]
    readonly_fields = ["user", "patient", "reason", "created_at", "expires_at"]
    audit_object_type = "break_glass_grant"

    def audited_patient_id(self, obj: BreakGlassGrant) -> UUID | None:
        return obj.patient_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
