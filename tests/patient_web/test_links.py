"""Links in e-mails, SMS and in-app notifications open real patient pages
(carecore/notifications/links.py names the paths; patient_web/urls.py serves them)."""

from __future__ import annotations

import uuid

import pytest
from django.urls import resolve

from carecore.notifications import links

PATIENT_LINKS = [
    links.thread_page(uuid.uuid4()),
    links.visit_page(uuid.uuid4()),
    links.questionnaire_page("gut-skin-intake"),
    links.care_plan_page(),
]


@pytest.mark.parametrize("path", PATIENT_LINKS)
def test_every_patient_link_opens_a_patient_page(path: str) -> None:
    match = resolve(path)

    assert match.func.__module__.startswith("patient_web."), path
