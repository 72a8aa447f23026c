"""One visit in the workspace (`/staff/visits/<id>/`), the page visit notifications link staff
to: its status, time in the viewer's zone, type, clinician and patient, the reason for those who
may read it, and only the actions each viewer may take (move, cancel, the chart, the pre-visit
summary, joining the video for the visit's own clinician). Who sees it is the schedule's rule;
another team's patient's visit is the 404 of a missing one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import resolve, reverse

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent
from carecore.notifications import links
from carecore.notifications.rendering import check_link_path
from portal import services
from portal.models import Appointment
from tests.factories import ClinicianFactory
from tests.portal.conftest import NOW, REASON, TOMORROW, at, book_directly, give_availability

# Every test runs at portal's NOW (`frozen`: Wednesday 2026-06-10, 08:00 in New York).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def visit(schedules: None, patient: Patient, clinician: Clinician) -> Appointment:
    """The patient's visit with their lead tomorrow at 10:00 New York time."""
    return book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))


def page_url(visit: Appointment | uuid.UUID) -> str:
    return f"/staff/visits/{getattr(visit, 'id', visit)}/"


def chart_url(visit: Appointment) -> str:
    return f"/staff/patients/{visit.patient_id}/"


def summary_url(visit: Appointment) -> str:
    return f"/staff/visits/{visit.id}/summary/"


def move_url(visit: Appointment) -> str:
    return f"/staff/schedule/visits/{visit.id}/reschedule/"


def cancel_url(visit: Appointment) -> str:
    return f"/staff/schedule/visits/{visit.id}/cancel/"


def facts(html: str) -> dict[str, str]:
    """The visit's facts as read out: each <dt> with its <dd>, tags stripped."""
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, flags=re.S)
    return {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in pairs}


def opened(client: Client, visit: Appointment) -> str:
    response = client.get(page_url(visit))
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- who sees what --------------------------------------------------------------------------------


def test_the_visits_clinician_sees_the_visit_the_reason_and_every_action(
    visit: Appointment, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    html = opened(staff_web_for(clinician.user), visit)

    assert f"<h1>Visit: {visit.patient.user.full_name}</h1>" in html
    assert facts(html) == {
        "Status": "Booked",
        "When": "Thursday 11 June 2026, 10:00 AM\N{EN DASH}10:30 AM EDT",
        "Visit type": "New problem",
        "Clinician": f"{clinician.user.full_name} (you)",
        "Patient": visit.patient.user.full_name,
    }
    assert f'<a href="{chart_url(visit)}">{visit.patient.user.full_name}</a>' in html
    assert REASON in html
    for url in (summary_url(visit), move_url(visit), cancel_url(visit)):
        assert f'href="{url}"' in html
    # Tomorrow: too early to join; the clinician is told when they can.
    assert "Join the video visit</a>" not in html
    assert "You can join the video visit from 9:50 AM EDT on the day." in html
    # One READ of the appointment, naming its patient: as the API's detail view.
    assert AuditEvent.objects.filter(
        actor_id=clinician.user.id,
        object_type="appointment",
        object_id=str(visit.id),
        patient_id=visit.patient_id,
        action=Action.READ,
        outcome="success",
    ).exists()


def test_a_coordinator_on_the_team_sees_the_same_without_joining(
    visit: Appointment, coordinator: User, staff_web_for: Callable[[User], Client]
) -> None:
    html = opened(staff_web_for(coordinator), visit)

    assert facts(html)["Clinician"] == visit.clinician.user.full_name
    assert f'<a href="{chart_url(visit)}">' in html
    assert REASON in html
    for url in (summary_url(visit), move_url(visit), cancel_url(visit)):
        assert f'href="{url}"' in html
    assert "join the video visit" not in html.lower()


def test_a_scheduler_sees_who_and_when_but_no_reason_chart_or_summary(
    visit: Appointment, scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    html = opened(staff_web_for(scheduler), visit)

    assert facts(html)["Patient"] == visit.patient.user.full_name
    assert REASON not in html
    assert "The patient gave a reason; only the care team reads it." in html
    assert "/staff/patients/" not in html  # the chart is clinical: a scheduler's would be a 404
    assert "/summary/" not in html
    assert f'href="{move_url(visit)}"' in html and f'href="{cancel_url(visit)}"' in html
    assert "join the video visit" not in html.lower()


def test_another_teams_clinician_gets_the_404_of_a_missing_visit_audited(
    visit: Appointment, other_clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(other_clinician.user)

    response = client.get(page_url(visit))
    missing = client.get(page_url(uuid.uuid4()))

    assert response.status_code == missing.status_code == 404
    assert visit.patient.user.full_name not in response.content.decode()
    assert AuditEvent.objects.filter(
        actor_id=other_clinician.user.id,
        object_type="appointment",
        object_id=str(visit.id),
        outcome="denied",
    ).exists()


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_patients_and_admins_get_the_workspaces_403_page(
    role: str,
    visit: Appointment,
    actors: dict[str, User],
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(actors[role]).get(page_url(visit))

    assert response.status_code == 403
    assert REASON not in response.content.decode()


def test_a_signed_out_visitor_is_sent_to_the_workspace_sign_in(visit: Appointment) -> None:
    response = Client().get(page_url(visit))

    assert response["Location"] == f"/staff/sign-in/?next={page_url(visit)}"


def test_a_clinician_under_break_glass_reads_it_but_is_offered_no_change(
    visit: Appointment, other_clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    account_services.break_glass_open(
        user=other_clinician.user,
        patient_id=visit.patient_id,
        reason="Covering the on-call line tonight, the team is unreachable.",
    )

    html = opened(staff_web_for(other_clinician.user), visit)

    assert f'<a href="{chart_url(visit)}">' in html
    assert f'href="{summary_url(visit)}"' in html
    # Break-glass is read only: moving or cancelling would be refused, so neither is offered.
    assert move_url(visit) not in html and cancel_url(visit) not in html


def test_the_visits_own_clinician_from_outside_the_team_joins_and_reads_the_summary_in_time(
    schedules: None,
    patient: Patient,
    frozen: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    locum = ClinicianFactory(user__email="locum@example.test", licensed_states=["NY"])
    give_availability(locum)
    visit = book_directly(patient=patient, clinician=locum, start=at(TOMORROW, 10))

    # 26 hours ahead: the visit's window (24 h) is not open, so no summary yet.
    html = opened(staff_web_for(locum.user), visit)
    assert facts(html)["Clinician"] == f"{locum.user.full_name} (you)"
    assert REASON in html
    assert "/summary/" not in html
    assert chart_url(visit) not in html  # not on the care team: the chart is a 404 to them
    assert f'href="{move_url(visit)}"' in html  # their own calendar: they may move it

    frozen.move_to(visit.start_at - timedelta(minutes=5))
    html = opened(staff_web_for(locum.user), visit)
    assert f'href="{summary_url(visit)}"' in html
    assert f'<a class="button" href="{visit.join_url}" rel="noopener">Join the video visit</a>' in (
        html
    )
    assert f'href="{move_url(visit)}"' in html  # not started yet: still the schedule's to move

    # Cancelled, the visit gives its clinician nothing more: no summary, no video.
    services.appointment_cancel(actor=patient.user, appointment_id=visit.id)
    html = opened(staff_web_for(locum.user), visit)
    assert "/summary/" not in html and "Join the video visit" not in html


def test_a_started_visit_can_be_joined_but_no_longer_moved_or_cancelled(
    visit: Appointment,
    clinician: Clinician,
    frozen: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    frozen.move_to(visit.start_at + timedelta(minutes=5))

    html = opened(staff_web_for(clinician.user), visit)

    assert "Join the video visit</a>" in html
    assert move_url(visit) not in html and cancel_url(visit) not in html
    assert "The visit has started, so it can no longer be moved or cancelled." in html


# --- a cancelled visit, time zones ----------------------------------------------------------------


def test_a_cancelled_visit_says_so_and_offers_no_move_or_cancel(
    visit: Appointment,
    patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    services.appointment_cancel(actor=patient.user, appointment_id=visit.id)

    html = opened(staff_web_for(clinician.user), visit)

    assert facts(html)["Status"] == "Cancelled"
    notice = re.sub(r"<[^>]+>", "", html.split('<div class="notice">')[1].split("</div>")[0])
    assert notice == "This visit was cancelled on Wednesday 10 June, 8:00 AM EDT by the patient."
    assert move_url(visit) not in html and cancel_url(visit) not in html
    assert "join the video visit" not in html.lower()
    # The care team still reads the patient's record and the visit's summary.
    assert f'href="{summary_url(visit)}"' in html


def test_a_late_cancellation_by_staff_is_marked_late(
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Booked two days ago for 08:00 tomorrow: 24 hours from now, inside the late-cancel window.
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        visit = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 8))
    services.appointment_cancel(actor=coordinator, appointment_id=visit.id)

    html = opened(staff_web_for(clinician.user), visit)

    assert facts(html)["Status"] == "Cancelled (late)"
    assert "by staff, a late cancellation." in html


def test_times_are_in_the_viewers_own_time_zone(
    visit: Appointment, scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    scheduler.timezone = "America/Los_Angeles"
    scheduler.save(update_fields=["timezone"])

    html = opened(staff_web_for(scheduler), visit)

    # 10:00 in New York is 07:00 in Los Angeles.
    assert facts(html)["When"] == "Thursday 11 June 2026, 7:00 AM\N{EN DASH}7:30 AM PDT"
    assert "Times are in your time zone, America/Los_Angeles." in html


# --- cost, links, the schedule ------------------------------------------------------------------


@pytest.mark.parametrize(("role", "queries"), [("clinician", 6), ("scheduler", 5)])
def test_the_page_costs_a_fixed_number_of_queries(
    role: str,
    queries: int,
    visit: Appointment,
    actors: dict[str, User],
    staff_web_for: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:
    client = staff_web_for(actors[role])
    client.get(page_url(visit))

    # Session, user, the appointment with patient and clinician, its READ event, whether the
    # viewer may change it, and for the care team whether they read the patient's record (a yes
    # also answers the summary's rule). A scheduler's clinical questions cost no query: the rule
    # refuses the role outright.
    with django_assert_num_queries(queries):
        assert client.get(page_url(visit)).status_code == 200


def test_the_pages_url_is_route_words_and_the_visits_id_only(visit: Appointment) -> None:
    url = reverse("staff_web:visit", kwargs={"appointment_id": visit.id})

    assert url == f"/staff/visits/{visit.id}/"
    check_link_path(url)  # refuses anything but route words and ids: no name, no reason
    assert resolve(links.page_for(links.visit_page(visit.id), role="clinician")).view_name == (
        "staff_web:visit"
    )


def test_the_schedule_and_the_summary_link_to_the_visit(
    visit: Appointment, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(clinician.user)

    calendar = client.get(f"/staff/schedule/?date={TOMORROW.isoformat()}").content.decode()
    summary = client.get(summary_url(visit)).content.decode()

    assert f'<a href="{page_url(visit)}" aria-label="Details of ' in calendar
    assert f'<a href="{page_url(visit)}">The visit</a>' in summary
