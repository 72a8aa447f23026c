"""Intake events reach the right people through the outbox, with no patient data."""

from __future__ import annotations

import pytest
from django.core import mail

from carecore.notifications.models import Notification

from ..outbox import recipients, rows
from .helpers import healthy_intake, poem, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

CANARY = "canary-Zx81-perioral-dermatitis"


def test_a_completed_response_tells_the_care_team(client_for, patient, clinician, coordinator):
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    assert recipients("intake_submitted") == {clinician.user_id, coordinator.id}
    assert not rows("intake_red_flag").exists()
    assert {row.link_path for row in rows("intake_submitted")} == {
        f"/staff/reviews/{patient.intake_reviews.get().id}/"
    }


def test_an_unfinished_response_tells_nobody(client_for, patient, clinician):
    submit(client_for(patient.user), "poem", poem(1, 1), status="in_progress")

    assert not Notification.objects.exists()


def test_a_red_flag_pages_the_lead_clinician_urgently(client_for, patient, clinician, coordinator):
    submit(
        client_for(patient.user),
        "gut-skin-intake",
        healthy_intake(**{"rf-self-harm-thoughts": True}),
    )

    assert recipients("intake_red_flag") == {clinician.user_id}
    assert all(row.urgent for row in rows("intake_red_flag"))


def test_no_answer_or_flag_text_reaches_a_notification(
    client_for, patient, clinician, django_capture_on_commit_callbacks
):
    answers = healthy_intake(
        **{"skin-concerns": ["other"], "skin-concerns-other": CANARY, "rf-rectal-bleeding": True}
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit(client_for(patient.user), "gut-skin-intake", answers)

    texts = [f"{row.title} {row.body} {row.link_path}" for row in Notification.objects.all()]
    texts += [f"{message.subject} {message.body}" for message in mail.outbox]
    assert texts
    for text in texts:
        assert CANARY not in text
        assert "bleeding" not in text.lower()
