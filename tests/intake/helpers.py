"""Intake helpers shared by test modules of several apps: the API paths, answer builders and
one-call submission (a patient's client posts a response)."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from intake import tasks
from intake.models import IntakeReview

RESPONSES = "/api/v1/questionnaire-responses/"
REVIEWS = "/api/v1/intake-reviews/"


def poem(*values: int | None) -> dict[str, int]:
    return {f"poem-{n}": v for n, v in enumerate(values, start=1) if v is not None}


def submit(client, slug: str, answers: dict, status: str = "completed"):
    return client.post(
        RESPONSES, {"questionnaire": slug, "answers": answers, "status": status}, format="json"
    )


def response_url(response_id) -> str:
    return f"{RESPONSES}{response_id}/"


def healthy_intake(**overrides) -> dict:
    """A completed gut-skin intake with no red flags (linkIds of intake/definitions)."""
    answers = {
        "skin-concerns": ["eczema"],
        "skin-self-rating": 6,
        "stool-type": 4,
        "gut-symptoms": True,
        "gut-symptoms-new": False,
        "symptom-onset-age": 25,
        "fibre-servings-daily": 6,
        "fermented-foods-weekly": 4,
        "added-sugar-daily": 1,
        "processed-foods-weekly": 2,
        "dairy-reaction": False,
        "gluten-reaction": False,
        "alcohol-drinks-weekly": 2,
        "caffeine-drinks-daily": 1,
        "water-glasses-daily": 8,
        "sleep-hours-nightly": 7.5,
        "exercise-minutes-weekly": 180,
        "stress-level": 3,
        "antibiotics-last-3-months": False,
        "probiotic-use": False,
        "rf-rectal-bleeding": False,
        "rf-weight-loss": False,
        "rf-nocturnal-symptoms": False,
        "rf-family-history-gi": False,
        "rf-family-history-ovarian": False,
        "rf-iron-deficiency-anaemia": False,
        "rf-bowel-habit-change": False,
        "rf-fever": False,
        "rf-trouble-swallowing": False,
        "rf-persistent-vomiting": False,
        "rf-angioedema": False,
        "rf-mucosal-sores": False,
        "rf-eczema-spreading-blisters": False,
        "rf-eczema-infected": False,
        "rf-widespread-redness": False,
        "rf-rosacea-eye-symptoms": False,
        "rf-self-harm-thoughts": False,
    }
    answers.update(overrides)
    return answers


def escalated_red_flag_review(patient_client, at: datetime) -> IntakeReview:
    """A red-flag intake submitted at `at` whose page nobody answered: a sweep two hours later
    records the whole ladder (the care team's coordinators, its lead clinician, the clinical
    lead(s)). Returns the review."""
    with time_machine.travel(at, tick=False):
        submitted = submit(
            patient_client, "gut-skin-intake", healthy_intake(**{"rf-rectal-bleeding": True})
        )
    assert submitted.status_code == 201, submitted.json()
    with time_machine.travel(at + timedelta(hours=2), tick=False):
        assert tasks.escalate_unanswered_pages() == 3
    return IntakeReview.objects.get(response_id=submitted.json()["id"])
