"""Notification text, rendered from one template per event and channel.

Templates get exactly two variables, `link_url` and `portal_url`, built from opaque ids. No user,
patient or clinical object is ever in the context, so no template can leak a name, a condition
or message text even by mistake (tests/notifications/test_templates.py checks the variables).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.template.loader import render_to_string

from carecore.common.errors import ValidationFailed

from .links import absolute_url
from .models import Channel

TEMPLATE_VARIABLES = frozenset({"link_url", "portal_url"})

# Opaque ids and fixed route words only: lowercase letters, digits, "-" and "_" per segment.
_LINK_PATH = re.compile(r"^(/[a-z0-9_-]+)*/?$")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def check_link_path(link_path: str) -> None:
    if link_path and not _LINK_PATH.fullmatch(link_path):
        # The value itself is not echoed: a caller's mistake could have put data in it.
        raise ValidationFailed(
            fields={"link_path": ["Use an in-app path of lowercase route words and ids."]}
        )


def _context(link_path: str) -> dict[str, str]:
    return {"portal_url": absolute_url("/").rstrip("/"), "link_url": absolute_url(link_path)}


def render(*, event: str, channel: str, link_path: str) -> Rendered:
    context = _context(link_path)
    base = f"notifications/{event}"
    if channel == Channel.EMAIL:
        subject = render_to_string(f"{base}/email_subject.txt", context)
        return Rendered(
            subject=" ".join(subject.split()), body=render_to_string(f"{base}/email.txt", context)
        )
    if channel == Channel.SMS:
        return Rendered(subject="", body=render_to_string(f"{base}/sms.txt", context).strip())
    # In-app and web push show the same title and line of text.
    title, _, body = render_to_string(f"{base}/in_app.txt", context).strip().partition("\n")
    return Rendered(subject=title.strip(), body=body.strip())
