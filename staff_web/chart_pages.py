"""The patient chart (`/staff/patients/<id>/`): one patient's record for their care team on one
page. Demographics and care team, the latest gut-skin intake with its questions, every
instrument's scores over time (chart and table), red flags and their reviews, care plans with
what each version changed, visits and threads.

Thin like the other pages: every part is read through its app's selector or access helper and
audited as the API audits it (docs/web-portal.md, "Patient chart"). The first read is
`access_patient` for clinical data, so a scheduler, another team's clinician or a missing id
all get the same audited 404 before anything else is read. The lists are cut to a fixed length
and each is one query, so the page's query count does not grow with the patient's record.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.db.models import Case, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import CARE_TEAM_ROLES, Role
from carecore.accounts.page_guards import role_page
from carecore.accounts.selectors import patient_with_care_team
from carecore.audit.lists import audited_rows
from careplans.selectors import care_plan_list, measures_progress_all, plans_compared
from intake.instruments import INSTRUMENTS
from intake.selectors import (
    INTAKE_SLUG,
    answers_with_questions,
    questionnaire_current_list,
    response_list,
    review_queue,
)
from messaging.selectors import thread_list
from patient_web.progress_pages import progress_chart
from portal.selectors import appointment_list

from .guards import staff_user
from .pages import _age

# How many of each kind of record the chart shows: enough for a visit's preparation, few enough
# that the page stays fast whatever the patient's history (the rest is in its own page or API).
REVIEWS_SHOWN = 20
PLANS_SHOWN = 10
VISITS_SHOWN = 10
THREADS_SHOWN = 20

# Schedulers pass the role check on purpose: the chart is clinical, so `access_patient` refuses
# them with the same audited 404 as a patient who does not exist (docs/web-portal.md). Patients
# and admins get the workspace's 403 page, as on every workspace page.
chart_page = role_page(
    roles=CARE_TEAM_ROLES | {Role.SCHEDULER},
    refused_template="staff_web/refused.html",
    login_url="staff_web:sign-in",
)


@require_GET
@chart_page
def patient_chart(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = staff_user(request)
    # One READ of the patient's record (clinical purpose: care team or break-glass), or 404.
    patient = patient_with_care_team(
        patient=access_patient(user=user, patient_id=patient_id, purpose=Purpose.CLINICAL)
    )
    reviews = _reviews(request, patient.id)
    members = list(patient.care_team.memberships.all()) if hasattr(patient, "care_team") else []
    return render(
        request,
        "staff_web/chart/chart.html",
        {
            "patient": patient,
            "age": _age(patient.date_of_birth, timezone.localdate()),
            "patient_now": timezone.localtime(timezone=patient.user.zone),
            "care_team": [member.user for member in members],
            "lead_user_id": patient.care_team.lead.user_id
            if hasattr(patient, "care_team") and patient.care_team.lead
            else None,
            # Only a grant lets someone outside the care team read this far (read-only).
            "break_glass": all(member.user_id != user.id for member in members),
            "intake": _latest_intake(request, patient.id),
            "measures": _measures(request, patient.id),
            "reviews": reviews,
            "open_red_flags": [
                review for review in reviews if review.status == "pending" and review.severity
            ],
            "plans": _plans(request, patient.id),
            "upcoming_visits": _visits(request, patient.id, upcoming=True),
            "past_visits": _visits(request, patient.id, upcoming=False),
            "threads": _threads(request, patient.id),
            "now": timezone.now(),
        },
    )


def _latest_intake(request: HttpRequest, patient_id: UUID) -> dict[str, Any] | None:
    """The latest completed gut-skin intake, each answer with its question as the patient saw
    it (the response's pinned version)."""
    user = staff_user(request)
    latest = response_list(
        user=user, questionnaire=INTAKE_SLUG, patient_id=patient_id, status="completed"
    ).order_by("-completed_at", "-id")[:1]
    shown = audited_rows(user=user, rows=latest, object_type="questionnaire_response")
    if not shown:
        return None
    return {
        "response": shown[0],
        "answers": [
            {"question": answer.question, "text": answer.text}
            for answer in answers_with_questions(shown[0])
        ],
    }


def _words(name: str | None) -> str:
    return (name or "").replace("_", " ")


def _measures(request: HttpRequest, patient_id: UUID) -> list[dict[str, Any]]:
    """Per instrument (published order): its timeline against the active goal, as a chart and
    as the table under it (the patient's progress page does the same for the patient)."""
    timelines = {
        progress.instrument: progress
        for progress in measures_progress_all(user=staff_user(request), patient_id=patient_id)
    }
    titles = {
        version.questionnaire.slug: version.questionnaire.title
        for version in questionnaire_current_list()
    }
    measures = []
    for instrument in INSTRUMENTS:
        progress = timelines.get(instrument)
        if progress is None or not progress.results:
            continue
        chart = progress_chart(instrument, progress, score_label="Score", goal_label="Goal")
        latest = progress.results[-1]
        measures.append(
            {
                "slug": instrument,
                "title": titles.get(instrument, instrument.upper()),
                "goal": progress.goal,
                "latest": latest,
                "latest_band": _words(latest.band),
                "rows": [
                    {"point": point, "band": _words(point.band)} for point in progress.results
                ],
                "bands": chart["bands"],
                "chart": json.dumps(chart),
            }
        )
    return measures


def _reviews(request: HttpRequest, patient_id: UUID) -> list[Any]:
    """The patient's intake reviews: unreviewed red flags first, then the newest."""
    open_flag = Q(status="pending") & ~Q(severity="")
    reviews = (
        review_queue(user=staff_user(request), status=None)
        .filter(patient_id=patient_id)
        .select_related("completed_by")
        .order_by(
            Case(When(open_flag, then=Value(0)), default=Value(1), output_field=IntegerField()),
            "-created_at",
            "-id",
        )[:REVIEWS_SHOWN]
    )
    return audited_rows(user=request.user, rows=reviews, object_type="intake_review")


def _readable_diff(older: Any, newer: Any) -> dict[str, Any]:
    """careplans' version comparison, each item named by its title for the reader."""
    compared = plans_compared(older=older, newer=newer)
    changes = []
    for part in (compared.goals, compared.activities):
        changes += [f"Added: {item.title}" for item in part.added]
        changes += [f"Removed: {item.title}" for item in part.removed]
        changes += [
            f"{item.title}: {_words(change.field)} changed "
            f"from “{change.before}” to “{change.after}”"
            for item, item_changes in part.changed
            for change in item_changes
        ]
    if compared.summary_changed:
        changes.insert(0, "The summary changed")
    return {"against": older, "changes": changes}


def _plans(request: HttpRequest, patient_id: UUID) -> list[dict[str, Any]]:
    """The newest plan versions, each with what it changed since the version before it."""
    plans = audited_rows(
        user=request.user,
        rows=care_plan_list(user=staff_user(request), patient_id=patient_id).order_by("-number")[
            : PLANS_SHOWN
            + 1  # one more than shown: the oldest shown is compared with it
        ],
        object_type="care_plan",
    )
    return [
        {
            "plan": plan,
            "diff": _readable_diff(plans[index + 1], plan) if index + 1 < len(plans) else None,
        }
        for index, plan in enumerate(plans[:PLANS_SHOWN])
    ]


def _visits(request: HttpRequest, patient_id: UUID, *, upcoming: bool) -> list[Any]:
    """The next visits (soonest first) or the last ones (latest first)."""
    visits = appointment_list(user=staff_user(request), patient_id=patient_id, upcoming=upcoming)
    visits = visits.order_by("start_at", "id") if upcoming else visits.order_by("-start_at", "-id")
    return audited_rows(user=request.user, rows=visits[:VISITS_SHOWN], object_type="appointment")


def _threads(request: HttpRequest, patient_id: UUID) -> list[Any]:
    """The patient's threads as the viewer's inbox shows them, most recent activity first."""
    threads = thread_list(user=staff_user(request), patient_id=patient_id).order_by(
        "-last_message_at", "-id"
    )[:THREADS_SHOWN]
    return audited_rows(user=request.user, rows=threads, object_type="message_thread")
