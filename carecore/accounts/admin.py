"""Admin for accounts. Writes go through the same services as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.http import HttpRequest

from . import services
from .models import STAFF_ROLES, BreakGlassGrant, CareTeam, CareTeamMember, Clinician, User


class PasswordChangeRevokingTokens(AdminPasswordChangeForm):
    """An admin resetting a password also signs the user out of every API client."""

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        services.user_tokens_revoke(user=user)
        return user


class StaffCreationForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        help_text="Leave empty to let the user set one via password reset.",
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role", "timezone", "phone"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role not in STAFF_ROLES:
            raise forms.ValidationError("Patients sign up themselves; create staff here.")
        return role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    change_password_form = PasswordChangeRevokingTokens
    add_form = StaffCreationForm
    readonly_fields = ["id", "date_joined", "last_login", "role"]
    fieldsets = (
        (None, {"fields": ["id", "email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "role", "timezone", "phone"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    )
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


@admin.register(CareTeam)
class CareTeamAdmin(admin.ModelAdmin):
    """Read-only here: care teams decide access, so changes go through `care_team_set`
    (PUT /api/v1/patients/<id>/care-team/), which checks licensure and writes the audit."""

    list_display = ["id", "lead", "updated_at"]
    inlines = [CareTeamMemberInline]
    readonly_fields = ["patient", "lead", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "patient", "expires_at"]
    readonly_fields = ["user", "patient", "reason", "created_at", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
