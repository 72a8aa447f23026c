"""Every event has a template per channel, and templates can only use opaque values."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from carecore.notifications.models import Channel, Event
from carecore.notifications.rendering import TEMPLATE_VARIABLES, render

TEMPLATES = Path(__file__).resolve().parents[2] / "carecore/notifications/templates/notifications"
FILES = ["email_subject.txt", "email.txt", "sms.txt", "in_app.txt"]


@pytest.mark.parametrize("event", Event.values)
def test_every_event_has_every_template_using_only_opaque_variables(event):
    for name in FILES:
        text = (TEMPLATES / event / name).read_text()
        variables = set(re.findall(r"{{\s*([\w.]+)", text))
        assert variables <= TEMPLATE_VARIABLES, (event, name, variables)
        assert "{%" not in text  # no tags: nothing can reach into other objects


@pytest.mark.parametrize("event", Event.values)
@pytest.mark.parametrize("channel", Channel.values)
def test_every_template_renders_short_text(event, channel, settings):
    settings.CARECORE_PORTAL_URL = "https://portal.carecore.example"
    link_path = f"/appointments/{uuid.uuid4()}"
    text = render(event=event, channel=channel, link_path=link_path)

    assert text.body
    if channel == Channel.SMS:
        assert len(text.body) <= 160  # one SMS segment
        assert text.body.endswith(link_path)
    if channel == Channel.IN_APP:
        assert text.subject and len(text.subject) <= 200 and len(text.body) <= 500
