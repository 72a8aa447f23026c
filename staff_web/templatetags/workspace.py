"""Template helpers of the workspace: its navigation and the first-response clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# The workspace's navigation, in order: (name shown, URL name). A page not built yet is left out.
NAVIGATION = [
    ("Inbox", "staff_web:inbox"),
    ("Reviews", "staff_web:reviews"),
    ("Schedule", "staff_web:schedule"),
]
# The only workspace pages a scheduler is shown.
SCHEDULER_PAGES = {"staff_web:schedule"}


@register.simple_tag(takes_context=True)
def workspace_navigation(context: Any) -> list[dict[str, Any]]:
    path = context["request"].path
    inbox = reverse("staff_web:inbox")
    links = []
    for name, url_name in NAVIGATION:
        if context["request"].user.role == "scheduler" and url_name not in SCHEDULER_PAGES:
            continue  # never message bodies or clinical data (PRODUCT.md, minimum necessary)
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        current = (
            path == url or path.startswith(reverse("staff_web:inbox") + "threads/")
            if url == inbox
            else path.startswith(url)
        )
        links.append({"name": name, "url": url, "current": current})
    return links


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


@register.simple_tag
def response_clock(thread: Any, now: datetime) -> dict[str, Any] | None:
    """The first-response clock of a thread: "due in 12 min" or "overdue 1 h"; None when
    nobody is waiting (answered, or closed)."""
    due = thread.first_response_due_at
    if due is None or thread.status == "closed":
        return None
    left = (due - now).total_seconds()
    if left >= 0:
        return {"text": f"due in {_span(left)}", "overdue": False}
    return {"text": f"overdue {_span(-left)}", "overdue": True}


@register.simple_tag
def lookup(mapping: dict[str, Any], key: str) -> Any:
    """`mapping[key]` or None (a score's previous value)."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def words(name: str | None) -> str:
    """A code as words: "very_severe" -> "very severe", "follow_up" -> "follow up"."""
    return (name or "").replace("_", " ")
