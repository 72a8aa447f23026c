"""Settings: profile (preferred name, time zone, phone with its SMS code), notification
preferences and quiet hours, and "Who has viewed my record" (the patient's own access report
from the audit trail). Thin: accounts' and notifications' services and selectors do the work."""

from __future__ import annotations

from datetime import time
from typing import Any, cast

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from carecore.accounts import selectors as account_selectors
from carecore.accounts import services as account_services
from carecore.common.errors import ApplicationError
from carecore.notifications.selectors import notification_preferences_get
from carecore.notifications.services import notification_preferences_set

from .forms import TimeZoneField, time_zone_choices
from .guards import form_errors, patient_page, signed_in

# What a patient is told about, in their words; staff-only events are not offered.
PATIENT_EVENTS = [
    ("message_received", "A new message from your care team"),
    ("appointment_booked", "A visit is booked"),
    ("appointment_rescheduled", "A visit is moved"),
    ("appointment_cancelled", "A visit is cancelled"),
    ("appointment_reminder", "Reminders before a visit"),
    ("care_plan_published", "A new care plan"),
    ("checkin_due", "A check-in is due"),
]
CHANNELS = [("email", "Email"), ("sms", "Text message"), ("in_app", "In the portal")]

RECORD_KINDS = {
    "patient": "Your details",
    "message_thread": "A conversation",
    "message": "Messages",
    "message_attachment": "A photo or file you sent",
    "appointment": "Visits",
    "questionnaire_response": "Questionnaire answers",
    "intake_review": "Review of your questionnaire",
    "care_plan": "Your care plan",
    "care_plan_goal": "Care plan goals",
    "check_in": "Check-ins",
    "measures": "Your scores over time",
    "previsit_summary": "Pre-visit summary",
}


class ProfileForm(forms.Form):
    preferred_name = forms.CharField(
        label="What should we call you?", required=False, max_length=150
    )
    timezone = TimeZoneField(label="Time zone")
    phone = forms.CharField(
        label="Mobile phone",
        required=False,
        max_length=32,
        help_text="We text a code to a new number to check it; leave empty to remove it.",
    )

    def __init__(self, *args: Any, current_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The patient's own zone is always in the list (and chosen), whatever set it.
        cast(TimeZoneField, self.fields["timezone"]).choices = time_zone_choices(current_zone)


class PhoneCodeForm(forms.Form):
    code = forms.CharField(label="Code from the text message", max_length=10)


class QuietHoursForm(forms.Form):
    quiet_enabled = forms.BooleanField(label="Hold notifications at night", required=False)
    quiet_start = forms.TimeField(
        label="Quiet from",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        label="Quiet until",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


def _preference_rows(request: HttpRequest) -> tuple[list[dict[str, Any]], Any]:
    preferences = notification_preferences_get(user=signed_in(request))
    enabled = {(row.event, row.channel): row.enabled for row in preferences.rows}
    rows = [
        {
            "event": event,
            "label": label,
            "channels": [
                {
                    "name": f"pref-{event}-{channel}",
                    "label": f"{channel_label}: {label}",
                    "channel_label": channel_label,
                    "checked": enabled.get((event, channel), False),
                }
                for channel, channel_label in CHANNELS
            ],
        }
        for event, label in PATIENT_EVENTS
    ]
    return rows, preferences.quiet_hours


def _save_notifications(request: HttpRequest, form: QuietHoursForm) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    quiet: tuple[time, time] | None = None
    if data["quiet_enabled"]:
        if not data["quiet_start"] or not data["quiet_end"]:
            form.add_error("quiet_start", "Give both times, or turn quiet hours off.")
            return False
        quiet = (data["quiet_start"], data["quiet_end"])
    try:
        notification_preferences_set(
            user=signed_in(request),
            preferences=[
                {
                    "event": event,
                    "channel": channel,
                    "enabled": request.POST.get(f"pref-{event}-{channel}") == "on",
                }
                for event, _label in PATIENT_EVENTS
                for channel, _channel_label in CHANNELS
            ],
            quiet_hours=quiet,
        )
    except ApplicationError as error:
        error.after_rollback()
        form_errors(form, error)
        return False
    return True


@require_http_methods(["GET", "POST"])
@patient_page
def settings_page(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    section = request.POST.get("section", "")
    profile = ProfileForm(
        request.POST if section == "profile" else None,
        current_zone=user.timezone,
        initial={
            "preferred_name": user.preferred_name,
            "timezone": user.timezone,
            "phone": str(user.phone) if user.phone else "",
        },
    )
    code = PhoneCodeForm(request.POST if section == "phone-code" else None)
    rows, quiet_hours = _preference_rows(request)
    quiet = QuietHoursForm(
        request.POST if section == "notifications" else None,
        initial={
            "quiet_enabled": quiet_hours is not None,
            "quiet_start": quiet_hours[0] if quiet_hours else time(21),
            "quiet_end": quiet_hours[1] if quiet_hours else time(8),
        },
    )
    if section == "profile" and profile.is_valid():
        try:
            update = account_services.user_profile_update(
                user=user,
                timezone_name=profile.cleaned_data["timezone"],
                preferred_name=profile.cleaned_data["preferred_name"],
                phone=profile.cleaned_data["phone"].strip(),
            )
        except ApplicationError as error:
            error.after_rollback()
            form_errors(profile, error)
        else:
            done = "code-sent" if update.pending_phone_change else "profile"
            return redirect(reverse("patient_web:settings") + f"?saved={done}#profile-title")
    elif section == "phone-code" and code.is_valid():
        try:
            account_services.user_phone_confirm(user=user, code=code.cleaned_data["code"])
        except ApplicationError as error:
            error.after_rollback()
            form_errors(code, error)
        else:
            return redirect(reverse("patient_web:settings") + "?saved=phone#profile-title")
    elif section == "notifications" and _save_notifications(request, quiet):
        return redirect(reverse("patient_web:settings") + "?saved=notifications#notify-title")
    views = account_selectors.record_access_report(user=user)
    return render(
        request,
        "patient_web/settings.html",
        {
            "profile": profile,
            "code": code,
            "pending_phone": account_selectors.pending_phone_change(user=user),
            "rows": rows,
            "channels": CHANNELS,
            "quiet": quiet,
            "saved": request.GET.get("saved", ""),
            "views": [
                {"view": view, "kind": RECORD_KINDS.get(view.object_type, view.object_type)}
                for view in views
            ],
        },
    )
