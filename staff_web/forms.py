"""Form parsing for the workspace pages; every rule is the services'."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from patient_web.forms import SignInForm

# The inbox's filters: (value in ?show=, label). The first is the default.
INBOX_FILTERS = [
    ("open", "All open"),
    ("mine", "Assigned to me"),
    ("unassigned", "Unassigned"),
    ("urgent", "Urgent"),
    ("overdue", "Overdue"),
    ("closed", "Closed"),
]


class StaffSignInForm(SignInForm):
    """The portal's sign-in form; the second step's field is labelled "Code" (TOTP, MFA on)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["otp"].label = "Code"
        self.fields["otp"].help_text = "The 6-digit code from your authenticator app."


class ComposeForm(forms.Form):
    body = forms.CharField(
        label="Message", max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )
    client_id = forms.CharField(max_length=64, widget=forms.HiddenInput)


class BreakGlassReasonForm(forms.Form):
    # Not required here: `break_glass_open` checks the reason (20+ characters) after the service
    # has made sure the thread may be offered at all, so that nobody else learns anything from
    # a refused reason.
    reason = forms.CharField(
        label="Why you need to read this patient's record",
        required=False,
        help_text="At least 20 characters. The patient's lead clinician and the administrators "
        "can read it.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def new_client_id() -> str:
    return f"web-{uuid.uuid4()}"
