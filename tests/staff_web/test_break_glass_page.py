"""A break-glass grant in the workspace (`/staff/break-glass/<id>/`): the patient's care team
reads who opened emergency access to their patient, when, until when and why (the lead
clinician's notice links here); another team's clinician, the grant's holder included, gets the
404 of a grant that does not exist; patients, schedulers and admins are refused the workspace
(admins read grants in the administration site). Every read is audited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import resolve
from django.utils.html import escape

from carecore.accounts import services as account_services
from carecore.accounts.models import BreakGlassGrant, CareTeamMember, Clinician, Patient, User
from carecore.audit.models import AuditEvent
from carecore.notifications.models import Notification
from tests.factories import ClinicianFactory

pytestmark = pytest.mark.django_db

# Wednesday 2026-06-10, 10:00 in New York (the clinician's zone by default: see the factory).
OPENED_AT = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
REASON = "Patient called the on-call line at night, their care team was unreachable."


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(OPENED_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def grant(patient: Patient, other_clinician: Clinician) -> BreakGlassGrant:
    """Another team's clinician opened emergency access to `patient`."""
    return account_services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason=REASON
    )


def grant_url(grant_id: object) -> str:
    return f"/staff/break-glass/{grant_id}/"


def _without_csrf_token(content: bytes) -> bytes:
    """A page as its reader sees it, minus the per-response CSRF token."""
    return re.sub(rb'(csrf-token" content|csrfmiddlewaretoken" value)="[^"]*"', b"", content)


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_care_team_reads_who_opened_it_on_whom_when_until_when_and_why(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    other_clinician: Clinician,
    grant: BreakGlassGrant,
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(actors[role]).get(grant_url(grant.id))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Break-glass access to a patient's record</h1>" in html
    assert f"{other_clinician.user.full_name} (clinician)" in html
    chart = f"/staff/patients/{patient.id}/"
    assert f'<a href="{chart}">{escape(patient.user.full_name)}</a>' in html
    assert f'datetime="{grant.created_at.astimezone(actors[role].zone).isoformat()}"' in html
    assert f'datetime="{grant.expires_at.astimezone(actors[role].zone).isoformat()}"' in html
    assert "(still open)" in html
    assert escape(REASON) in html


def test_once_it_expires_the_page_says_it_ended(
    clinician: Clinician,
    grant: BreakGlassGrant,
    clock: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    clock.shift(grant.expires_at - grant.created_at + timedelta(seconds=1))

    html = staff_web_for(clinician.user).get(grant_url(grant.id)).content.decode()

    assert "(ended)" in html and "(still open)" not in html


def test_a_clinician_on_the_team_who_is_not_the_lead_reads_it_too(
    patient: Patient, grant: BreakGlassGrant, staff_web_for: Callable[[User], Client]
) -> None:
    member = ClinicianFactory(user__email="second-clinician@example.test", licensed_states=["NY"])
    CareTeamMember.objects.create(care_team=patient.care_team, user=member.user)

    assert staff_web_for(member.user).get(grant_url(grant.id)).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("patient", 403),  # the portal is theirs ("Who has viewed my record")
        ("other_patient", 403),
        ("other_clinician", 404),  # another team's clinician: here, the grant's own holder
        ("scheduler", 403),
        ("admin", 403),  # admins read grants in the administration site
    ],
)
def test_everyone_else_gets_the_workspaces_refusal_or_the_404_of_a_missing_grant(
    role: str,
    status: int,
    actors: dict[str, User],
    patient: Patient,
    grant: BreakGlassGrant,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(actors[role])

    theirs = client.get(grant_url(grant.id))
    missing = client.get(grant_url(uuid.uuid4()))

    assert (theirs.status_code, missing.status_code) == (status, status)
    assert escape(REASON) not in theirs.content.decode()
    if role != "patient":  # the patient's own name greets them on every page
        assert patient.user.full_name not in theirs.content.decode()
    assert _without_csrf_token(theirs.content) == _without_csrf_token(missing.content)


def test_another_clinician_holding_a_grant_to_the_patient_does_not_see_other_grants(
    patient: Patient, grant: BreakGlassGrant, staff_web_for: Callable[[User], Client]
) -> None:
    # A grant lets its holder read the patient's record, not review who else broke the glass.
    third = ClinicianFactory(user__email="third-clinician@example.test", licensed_states=["WA"])
    account_services.break_glass_open(user=third.user, patient_id=patient.id, reason=REASON)

    assert staff_web_for(third.user).get(grant_url(grant.id)).status_code == 404


def test_another_teams_grant_is_a_404_for_this_team(
    clinician: Clinician,
    other_patient: Patient,
    admin_user: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    theirs = account_services.break_glass_open(
        user=admin_user, patient_id=other_patient.id, reason=REASON
    )

    assert staff_web_for(clinician.user).get(grant_url(theirs.id)).status_code == 404


def test_signed_out_visitors_are_sent_to_the_workspace_sign_in(grant: BreakGlassGrant) -> None:
    response = Client().get(grant_url(grant.id))

    assert response.status_code == 302
    assert response["Location"] == f"/staff/sign-in/?next={grant_url(grant.id)}"


def test_reading_it_is_audited_and_a_refused_read_too(
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    grant: BreakGlassGrant,
    staff_web_for: Callable[[User], Client],
) -> None:
    staff_web_for(clinician.user).get(grant_url(grant.id))
    staff_web_for(other_clinician.user).get(grant_url(grant.id))

    read = AuditEvent.objects.get(
        actor_id=clinician.user.id, object_type="break_glass_grant", action="read"
    )
    assert (read.object_id, read.patient_id, read.outcome) == (str(grant.id), patient.id, "success")
    denied = AuditEvent.objects.get(
        actor_id=other_clinician.user.id, object_type="break_glass_grant", action="read"
    )
    # A denial names the requested id but no patient.
    assert (denied.object_id, denied.patient_id, denied.outcome) == (str(grant.id), None, "denied")


def test_the_page_is_get_only(
    clinician: Clinician, grant: BreakGlassGrant, staff_web_for: Callable[[User], Client]
) -> None:
    assert staff_web_for(clinician.user).post(grant_url(grant.id)).status_code == 405


def test_the_query_count_is_fixed(
    clinician: Clinician,
    grant: BreakGlassGrant,
    staff_web_for: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:
    client = staff_web_for(clinician.user)
    client.get(grant_url(grant.id))  # warm: the session's first read

    # Session and user (2); the grant with its holder and patient, filtered to the care team
    # (1), and its READ event (1).
    with django_assert_num_queries(4):
        assert client.get(grant_url(grant.id)).status_code == 200


def test_the_lead_clinicians_notice_opens_this_page_and_the_admins_the_admin_site(
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    admin_user: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    grant = account_services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason=REASON
    )

    links = dict(
        Notification.objects.filter(subject_id=str(grant.id)).values_list(
            "recipient_id", "link_path"
        )
    )
    assert links == {
        clinician.user.id: grant_url(grant.id),
        admin_user.id: f"/admin/accounts/breakglassgrant/{grant.id}/change/",
    }
    assert resolve(grant_url(grant.id)).view_name == "staff_web:break_glass_grant"
    assert staff_web_for(clinician.user).get(links[clinician.user.id]).status_code == 200


def test_a_notice_sent_before_the_page_existed_is_redirected_to_it(
    clinician: Clinician, grant: BreakGlassGrant, staff_web_for: Callable[[User], Client]
) -> None:
    moved = staff_web_for(clinician.user).get(f"/break-glass/{grant.id}/")

    assert moved.status_code == 302 and moved["Location"] == grant_url(grant.id)
    assert Client().get(f"/break-glass/{grant.id}/")["Location"].startswith("/staff/sign-in/")
