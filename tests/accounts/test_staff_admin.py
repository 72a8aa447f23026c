"""The admin is a back office for schedulers and admins: permissions come with the role (groups
made by a migration), and everyone else is told plainly that it is not for them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from carecore.accounts import services
from carecore.accounts.models import Role, User
from carecore.accounts.staff_groups import ADMINS, SCHEDULERS
from carecore.common.admin_site import STAFF_ONLY_MESSAGE

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-staff-passphrase"


def staff(role: str, email: str) -> User:
    return services.staff_user_create(
        actor=None,
        email=email,
        password=PASSWORD,
        first_name="Staff",
        last_name=role.title(),
        role=role,
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_migration_made_both_groups_with_their_permissions() -> None:
    schedulers = set(
        Group.objects.get(name=SCHEDULERS).permissions.values_list("codename", flat=True)
    )
    admins = set(Group.objects.get(name=ADMINS).permissions.values_list("codename", flat=True))

    assert {"add_availabilityrule", "change_availabilityrule", "delete_availabilityrule"} <= (
        schedulers
    )
    assert {"add_timeoff", "delete_timeoff", "view_appointment", "view_clinician"} <= schedulers
    assert {"add_user", "change_user", "change_careteam", "view_notification"} <= admins
    assert {"change_notification", "view_deliveryattempt", "view_auditevent"} <= admins
    # Staff groups never delete records that are part of the audit trail or the outbox.
    assert not {"delete_user", "delete_notification", "delete_auditevent"} & admins
    assert not {"view_user", "view_notification", "view_auditevent"} & schedulers


@pytest.mark.parametrize(("role", "group"), [(Role.SCHEDULER, SCHEDULERS), (Role.ADMIN, ADMINS)])
def test_staff_join_their_roles_group_when_created(role: str, group: str) -> None:
    user = staff(role, f"{role}@example.test")

    assert list(user.groups.values_list("name", flat=True)) == [group]
    assert user.is_staff


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.COORDINATOR])
def test_clinical_staff_get_no_admin_group(role: str) -> None:
    user = staff(role, f"{role}@example.test")

    assert not user.groups.exists()
    assert not user.is_staff


def test_a_patient_gets_no_admin_group(patient) -> None:
    assert not patient.user.groups.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/portal/availabilityrule/",
        "/admin/portal/availabilityrule/add/",
        "/admin/portal/timeoff/",
        "/admin/accounts/clinician/",
    ],
)
def test_a_scheduler_keeps_calendars_in_the_admin(path: str) -> None:
    response = signed_in(staff(Role.SCHEDULER, "scheduler@example.test")).get(path)

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/admin/accounts/user/", "/admin/notifications/notification/", "/admin/audit/auditevent/"],
)
def test_a_scheduler_does_not_see_users_the_outbox_or_the_audit_trail(path: str) -> None:
    response = signed_in(staff(Role.SCHEDULER, "scheduler@example.test")).get(path)

    # Django's own HTML page for the admin, not the API's JSON shape.
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/accounts/careteam/",
        "/admin/notifications/notification/",
        "/admin/notifications/deliveryattempt/",
        "/admin/audit/auditevent/",
    ],
)
def test_an_admin_manages_users_care_teams_and_the_outbox(path: str) -> None:
    response = signed_in(staff(Role.ADMIN, "admin@example.test")).get(path)

    assert response.status_code == 200


def test_the_admin_index_lists_what_the_role_may_use() -> None:
    page = signed_in(staff(Role.SCHEDULER, "scheduler@example.test")).get("/admin/")

    body = page.content.decode()
    assert "availability rules" in body.lower()
    assert "permission to view or edit anything" not in body
    assert "/admin/accounts/user/" not in body


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.COORDINATOR])
def test_clinical_staff_are_told_the_admin_is_for_staff_only(role: str) -> None:
    staff(role, f"{role}@example.test")

    response = Client().post(
        "/admin/login/", {"username": f"{role}@example.test", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "for operations and front-desk staff only" in body
    assert "correct email" not in body.lower()


def test_a_patient_is_told_the_admin_is_for_staff_only(patient) -> None:
    patient.user.set_password(PASSWORD)
    patient.user.save(update_fields=["password"])

    response = Client().post(
        "/admin/login/", {"username": patient.user.email, "password": PASSWORD}
    )

    assert STAFF_ONLY_MESSAGE.split(".")[0] in response.content.decode()


def test_a_wrong_password_still_says_only_that_the_credentials_are_wrong() -> None:
    staff(Role.CLINICIAN, "clinician@example.test")

    response = Client().post(
        "/admin/login/", {"username": "clinician@example.test", "password": "not-it-at-all"}
    )

    body = response.content.decode()
    assert "staff only" not in body
    assert "correct" in body.lower()


# --- appointments in the scheduler's back office ----------------------------------------------


@pytest.fixture
def booked_visit(patient, clinician):
    from datetime import time, timedelta

    from django.utils import timezone

    from portal import services as portal_services

    portal_services.availability_weekly_ensure(
        actor=None, clinician=clinician, weekdays=range(7), start_time=time(0), end_time=time(23)
    )
    # 10:00 where the clinician is, whatever the hour the suite runs at (the open hours end at
    # 23:00 their time: the same hour in UTC fell outside them an hour a day).
    start = (
        (timezone.now() + timedelta(days=3))
        .astimezone(clinician.user.zone)
        .replace(hour=10, minute=0, second=0, microsecond=0)
    )
    return portal_services.appointment_book(
        actor=patient.user,
        patient_id=patient.id,
        clinician_id=clinician.id,
        start=start,
        visit_type="new",
        reason="Private words about a rash",
    )


def test_a_scheduler_lists_appointments_without_the_reason_and_it_is_audited(booked_visit):
    from carecore.audit.models import AuditEvent

    scheduler = staff(Role.SCHEDULER, "scheduler@example.test")
    client = signed_in(scheduler)

    listing = client.get("/admin/portal/appointment/")
    detail = client.get(f"/admin/portal/appointment/{booked_visit.id}/change/")

    assert listing.status_code == detail.status_code == 200
    assert booked_visit.patient.user.full_name in listing.content.decode()
    assert "Private words" not in listing.content.decode() + detail.content.decode()
    actions = AuditEvent.objects.filter(
        actor_id=scheduler.id, object_type="appointment", object_id=str(booked_visit.id)
    ).values_list("action", flat=True)
    assert set(actions) == {"list", "read"}


def test_a_scheduler_cancels_from_the_admin_through_the_service(booked_visit):
    from carecore.audit.models import AuditEvent

    scheduler = staff(Role.SCHEDULER, "scheduler@example.test")

    signed_in(scheduler).post(
        "/admin/portal/appointment/",
        {"action": "cancel", "_selected_action": [str(booked_visit.id)]},
    )

    booked_visit.refresh_from_db()
    assert booked_visit.status == "cancelled"
    assert booked_visit.cancelled_by == scheduler
    assert AuditEvent.objects.filter(
        object_id=str(booked_visit.id), action="update", actor_id=scheduler.id
    ).exists()


def test_an_admin_never_sees_appointments_in_the_admin(booked_visit):
    client = signed_in(staff(Role.ADMIN, "admin@example.test"))

    assert client.get("/admin/portal/appointment/").status_code == 403
    assert booked_visit.patient.user.full_name not in client.get("/admin/").content.decode()
