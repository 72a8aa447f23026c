"""Template helpers of the patient pages: accessible form controls and the navigation."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString

register = template.Library()

# The navigation, in order: (name shown, URL name). A page not built yet is left out.
NAVIGATION = [
    ("Home", "patient_web:home"),
    ("Messages", "patient_web:messages"),
    ("Book a visit", "patient_web:book"),
    ("Questionnaires", "patient_web:questionnaires"),
    ("Care plan", "patient_web:care-plan"),
    ("Progress", "patient_web:progress"),
    ("Settings", "patient_web:settings"),
]


@register.simple_tag(takes_context=True)
def navigation(context: Any) -> list[dict[str, Any]]:
    path = context["request"].path
    links = []
    for name, url_name in NAVIGATION:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        current = path == url if url == "/" else path.startswith(url)
        links.append({"name": name, "url": url, "current": current})
    return links


@register.simple_tag
def control(field: BoundField, **attrs: Any) -> SafeString:
    """The field's widget, tied to its hint and error message for screen readers."""
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_hint")
    if field.errors:
        described_by.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)
