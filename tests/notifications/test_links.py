"""Links in notifications: portal page paths from one module, on the configured public URL."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import resolve

from carecore.notifications import links
from carecore.notifications.models import Channel, Event, Notification
from carecore.notifications.rendering import check_link_path, render
from carecore.notifications.services import notification_deliver
from portal import services as portal
from tests.patient_web.conftest import sign_in as patient_sign_in
from tests.portal.conftest import TOMORROW, at, book_directly, frozen, schedules  # noqa: F401
from tests.staff_web.conftest import sign_in as staff_sign_in

from .helpers import notify_one

ROOT = Path(__file__).resolve().parents[2]


def _dev_script() -> Any:
    spec = importlib.util.spec_from_file_location("carecore_dev_script", ROOT / "scripts/dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_portal_page_is_a_valid_link_path_of_route_words_and_ids():
    some_id = uuid.uuid4()
    pages = {
        links.thread_page(some_id): f"/messages/{some_id}/",
        links.visit_page(some_id): f"/visits/{some_id}/",
        links.previsit_summary_page(some_id): f"/staff/visits/{some_id}/summary/",
        links.care_plan_page(): "/care-plan/",
        links.questionnaire_page("poem"): "/questionnaires/poem/",
        links.intake_review_page(some_id): f"/staff/reviews/{some_id}/",
    }
    for built, expected in pages.items():
        assert built == expected
        check_link_path(built)  # raises for anything but route words and ids


def test_every_page_is_documented():
    documented = (ROOT / "docs/notifications.md").read_text()
    for path in ["/messages/<thread id>/", "/visits/<appointment id>/", "/care-plan/"]:
        assert f"`{path}`" in documented


def test_links_use_the_configured_public_url(settings):
    settings.CARECORE_PORTAL_URL = "https://care.example.org/"
    thread = uuid.uuid4()

    text = render(
        event=Event.MESSAGE_RECEIVED, channel=Channel.SMS, link_path=f"/messages/{thread}/"
    )

    assert text.body.endswith(f"https://care.example.org/messages/{thread}/")
    assert links.absolute_url("") == "https://care.example.org/"


@pytest.mark.django_db
def test_the_email_of_a_new_message_links_to_its_thread_page(patient, settings):
    settings.CARECORE_PORTAL_URL = "http://localhost:8123"
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    thread = uuid.uuid4()
    email = notify_one(
        patient.user,
        Channel.EMAIL,
        event=Event.MESSAGE_RECEIVED,
        subject_type="thread",
        subject_id=thread,
        link_path=links.thread_page(thread),
    )
    assert email is not None

    notification_deliver(notification_id=email.id)

    assert f"http://localhost:8123/messages/{thread}/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", "8000", "http://localhost:8000"),
        ("0.0.0.0", "8799", "http://localhost:8799"),  # noqa: S104
        ("clinic.lan", "9000", "http://clinic.lan:9000"),
    ],
)
def test_make_run_sets_the_public_url_from_host_and_port(host, port, expected):
    assert _dev_script().local_portal_url(host=host, port=port) == expected


@pytest.mark.parametrize(
    ("portal_path", "role", "page"),
    [
        ("/messages/{id}/", "patient", "/messages/{id}/"),
        ("/messages/{id}/", "clinician", "/staff/threads/{id}/"),
        ("/messages/{id}/", "coordinator", "/staff/threads/{id}/"),
        ("/visits/{id}/", "patient", "/visits/{id}/"),
        # A visit booked, moved or cancelled: the visit itself, in the workspace, for
        # every role that works on the schedule (never its pre-visit summary: a cancelled
        # visit's would mislead, and schedulers may not read one).
        ("/visits/{id}/", "clinician", "/staff/visits/{id}/"),
        ("/visits/{id}/", "coordinator", "/staff/visits/{id}/"),
        ("/visits/{id}/", "scheduler", "/staff/visits/{id}/"),
        # Admins are told of no visit and no page of theirs shows one (they read visits only
        # under break-glass, through the API): the link is left as it is.
        ("/visits/{id}/", "admin", "/visits/{id}/"),
        # The pre-visit summary notice keeps its own page.
        ("/staff/visits/{id}/summary/", "clinician", "/staff/visits/{id}/summary/"),
        ("/break-glass/{id}/", "admin", "/admin/accounts/breakglassgrant/{id}/change/"),
        ("/break-glass/{id}/", "clinician", "/staff/break-glass/{id}/"),
        ("/break-glass/{id}/", "coordinator", "/staff/break-glass/{id}/"),
        ("/care-plan/", "clinician", "/care-plan/"),
    ],
)
def test_each_role_is_linked_to_the_page_where_it_works(portal_path, role, page):
    some_id = uuid.uuid4()

    linked = links.page_for(portal_path.format(id=some_id), role=role)

    assert linked == page.format(id=some_id)
    check_link_path(linked)


@pytest.mark.django_db
def test_one_notification_links_the_patient_to_the_portal_and_the_team_to_the_workspace(
    patient, clinician, settings
):
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    from carecore.notifications.services import notify

    thread = uuid.uuid4()
    rows = notify(
        event=Event.MESSAGE_RECEIVED,
        recipients=[patient.user, clinician.user],
        subject_type="thread",
        subject_id=thread,
        occurrence="one",
        link_path=links.thread_page(thread),
    )

    paths = {(row.recipient_id, row.link_path) for row in rows}
    assert (patient.user.id, f"/messages/{thread}/") in paths
    assert (clinician.user.id, f"/staff/threads/{thread}/") in paths
    assert resolve(f"/staff/threads/{thread}/").view_name == "staff_web:thread"
    assert resolve(f"/messages/{thread}/").view_name == "patient_web:thread"


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen", "schedules")
def test_a_visits_announcements_open_the_visit_for_the_patient_and_its_clinician(
    patient, clinician, settings
):
    """Booked, moved and cancelled: each in-app row's link resolves to a page its recipient
    opens (the patient's portal page, the clinician's workspace page) and shows the visit."""
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    visit = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
    portal.appointment_reschedule(
        actor=patient.user, appointment_id=visit.id, start=at(TOMORROW, 11)
    )
    portal.appointment_cancel(actor=patient.user, appointment_id=visit.id)
    staff, own = Client(), Client()
    staff_sign_in(staff, clinician.user)
    patient_sign_in(own, patient.user)

    changes = (Event.APPOINTMENT_BOOKED, Event.APPOINTMENT_RESCHEDULED, Event.APPOINTMENT_CANCELLED)
    rows = Notification.objects.filter(
        subject_id=str(visit.id), channel=Channel.IN_APP, event__in=changes
    )
    seen = {(row.event, row.recipient_id, row.link_path) for row in rows}
    assert seen == {
        (event, user.id, path)
        for event in changes
        for user, path in (
            (patient.user, f"/visits/{visit.id}/"),
            (clinician.user, f"/staff/visits/{visit.id}/"),
        )
    }
    assert resolve(f"/staff/visits/{visit.id}/").view_name == "staff_web:visit"
    assert resolve(f"/visits/{visit.id}/").view_name == "patient_web:visit"
    for client, path in ((staff, f"/staff/visits/{visit.id}/"), (own, f"/visits/{visit.id}/")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Cancelled" in response.content.decode()
