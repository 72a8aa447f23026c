"""Form parsing for the patient pages. Forms only parse and label: every rule that decides
anything (password policy, unique e-mail, time zones, lockout) is the services'."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordForm

from carecore.accounts import services
from carecore.accounts.us_states import US_STATE_CHOICES

# The zones US patients live in, first; any other IANA name is accepted by the service.
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
    timezone = forms.ChoiceField(label="Time zone", choices=US_TIME_ZONES)
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
