"""Form parsing for the patient pages. Forms only parse and label: every rule that decides
anything (password policy, unique e-mail, time zones, lockout) is the services'."""

from __future__ import annotations

import functools
import uuid
import zoneinfo
from collections.abc import Iterable
from importlib import resources
from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from carecore.accounts import services
from carecore.accounts.us_states import US_STATE_CHOICES

# The zones US patients live in, first (named as patients know them); then every other place in
# the tz database, by region. Any IANA name is accepted: the accounts service decides.
US_TIME_ZONES = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Mountain, no daylight saving (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
]

_REGIONS = {
    "Africa": "Africa",
    "America": "Americas",
    "Antarctica": "Antarctica",
    "Arctic": "Arctic",
    "Asia": "Asia",
    "Atlantic": "Atlantic Ocean",
    "Australia": "Australia",
    "Europe": "Europe",
    "Indian": "Indian Ocean",
    "Pacific": "Pacific Ocean",
}

Choices = list[tuple[str, Any]]


def _place_zone_names() -> set[str]:
    """The zones of places (the tz database's zone.tab: one name per place, no old aliases such
    as US/Eastern), or every zone in a region when tzdata's table cannot be read."""
    available = zoneinfo.available_timezones()
    try:
        table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, OSError):
        return {name for name in available if name.split("/")[0] in _REGIONS}
    rows = (line.split("\t") for line in table.splitlines() if not line.startswith("#"))
    return {row[2] for row in rows if len(row) > 2 and row[2] in available}


def _place_label(name: str) -> str:
    # "America/Argentina/Buenos_Aires" -> "Buenos Aires (Argentina)": the city first, so
    # typing its first letters in the list finds it.
    parts = [part.replace("_", " ") for part in name.split("/")[1:]]
    return parts[-1] + (f" ({', '.join(parts[:-1])})" if len(parts) > 1 else "")


@functools.cache
def _offered_time_zones() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    us = {name for name, _label in US_TIME_ZONES}
    by_region: dict[str, list[tuple[str, str]]] = {}
    for name in _place_zone_names() - us:
        by_region.setdefault(name.split("/")[0], []).append((name, _place_label(name)))
    groups = [("United States", tuple(US_TIME_ZONES))]
    for region, title in _REGIONS.items():
        places = sorted(by_region.get(region, []), key=lambda place: place[1].casefold())
        if places:
            groups.append((title, tuple(places)))
    groups.append(("Other", (("UTC", "UTC (Coordinated Universal Time)"),)))
    return tuple(groups)


def time_zone_choices(current: str = "") -> Choices:
    """The time zone list, grouped by region; `current` (a zone the account already has, set
    through the API perhaps, and not in the list) first, so it stays chosen when saved."""
    groups: Choices = [(title, list(places)) for title, places in _offered_time_zones()]
    offered = {name for _title, places in groups for name, _label in places}
    if current and current not in offered:
        groups.insert(0, (current, current.replace("_", " ")))
    return groups


class TimeZoneSelect(forms.Select):
    """Django's `<select>` markup, written here rather than by its template, which includes a
    template per option: ~25 ms for these ~430 options on every render, well under 1 ms here."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = self.format_value(value)

        def option(key: Any, label: Any) -> SafeString:
            if str(key) in chosen:
                return format_html('<option value="{}" selected>{}</option>', key, label)
            return format_html('<option value="{}">{}</option>', key, label)

        def options(choices: Iterable[tuple[Any, Any]]) -> SafeString:
            return format_html_join("", "{}", ((option(key, label),) for key, label in choices))

        parts = (
            format_html('<optgroup label="{}">{}</optgroup>', key, options(label))
            if isinstance(label, (list, tuple))
            else option(key, label)
            for key, label in self.choices
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            format_html_join("", "{}", ((part,) for part in parts)),
        )


class TimeZoneField(forms.ChoiceField):
    """A list of the zones we offer that passes on whatever name is sent: any IANA zone is
    accepted and an unknown one refused, with a field error, by the accounts service (the one
    rule, shared with the API)."""

    widget = TimeZoneSelect

    def valid_value(self, value: Any) -> bool:
        return True


class SignInForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    password = forms.CharField(
        label="Password", strip=False, max_length=128, widget=forms.PasswordInput
    )
    # Shown only when the account needs it (staff with MFA): see the sign-in page.
    otp = forms.CharField(label="Authenticator code", required=False, max_length=10)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="username", autofocus=True)
        self.fields["password"].widget.attrs.update(autocomplete="current-password")
        self.fields["otp"].widget.attrs.update(autocomplete="one-time-code", inputmode="numeric")


class SignUpForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(label="Email", max_length=254)
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput,
        help_text="At least 10 characters; a few unrelated words work well.",
    )
    date_of_birth = forms.DateField(
        label="Date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    state = forms.ChoiceField(
        label="State you live in",
        choices=[("", "Choose a state")] + [(code, name) for code, name in US_STATE_CHOICES],
        help_text="Our clinicians may treat you only where they are licensed.",
    )
    timezone = TimeZoneField(label="Time zone", choices=time_zone_choices)
    phone = forms.CharField(
        label="Mobile phone (optional)",
        required=False,
        max_length=32,
        help_text="For visit reminders by text message.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        autocomplete = {
            "first_name": "given-name",
            "last_name": "family-name",
            "email": "email",
            "password": "new-password",
            "date_of_birth": "bday",
            "phone": "tel",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["phone"].widget.input_type = "tel"


class ResetPasswordForm(SetPasswordForm):
    """Django's form for the reset link's new password, saved by our service (which also
    revokes the account's API tokens and audits the change)."""

    def save(self, commit: bool = True) -> Any:
        services.user_password_reset(
            user=self.user, new_password=self.cleaned_data["new_password1"]
        )
        return self.user


CATEGORY_CHOICES = [
    ("clinical", "A health question"),
    ("scheduling", "Appointments and scheduling"),
    ("billing", "Billing and insurance"),
    ("technical", "Help with the portal"),
]


def new_client_id() -> str:
    """A send's idempotency key, rendered into the form: the same POST sent twice (a double
    tap, a retry after a dropped connection) is one message (messaging's `client_id`)."""
    return f"web-{uuid.uuid4().hex}"


class NewThreadForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=200)
    category = forms.ChoiceField(label="What is it about?", choices=CATEGORY_CHOICES)
    body = forms.CharField(label="Message", max_length=20000, widget=forms.Textarea)
    client_id = forms.CharField(max_length=64, widget=forms.HiddenInput)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", max_length=20000, widget=forms.Textarea)
    client_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
