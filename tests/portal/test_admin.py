"""The Django admin manages availability through the same services (so every write is audited)
and shows appointments to schedulers only (issue 13: schedulers keep appointments there), never
to admins: their access to patient data is break-glass through the API."""

from __future__ import annotations

import pytest
from django.test import Client

from carecore.accounts.models import User
from carecore.audit.models import AuditEvent
from portal.models import AvailabilityRule, TimeOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    superuser = User.objects.create_superuser(
        "ops@example.test", "a-long-admin-passphrase", first_name="Ops", last_name="Admin"
    )
    client = Client()
    client.force_login(superuser)
    return client


def test_a_rule_added_in_the_admin_goes_through_the_service(admin_client, clinician):
    response = admin_client.post(
        "/admin/portal/availabilityrule/add/",
        {
            "clinician": str(clinician.id),
            "weekday": "2",
            "start_time": "09:00",
            "end_time": "12:00",
            "visit_types": "new,follow_up",
        },
    )

    assert response.status_code == 302, response.content
    rule = AvailabilityRule.objects.get()
    assert rule.visit_types == ["follow_up", "new"]
    assert AuditEvent.objects.filter(
        object_type="availability_rule", object_id=str(rule.id), action="create"
    ).exists()


def test_time_off_added_and_deleted_in_the_admin_is_audited(admin_client, clinician):
    admin_client.post(
        "/admin/portal/timeoff/add/",
        {
            "clinician": str(clinician.id),
            "starts_at_0": "2026-06-12",
            "starts_at_1": "09:00",
            "ends_at_0": "2026-06-12",
            "ends_at_1": "17:00",
            "note": "conference",
        },
    )
    time_off = TimeOff.objects.get()

    admin_client.post(f"/admin/portal/timeoff/{time_off.id}/delete/", {"post": "yes"})

    assert not TimeOff.objects.exists()
    assert set(
        AuditEvent.objects.filter(object_id=str(time_off.id)).values_list("action", flat=True)
    ) == {"create", "delete"}


def test_the_admin_lists_availability_but_not_appointments(admin_client, clinician):
    assert admin_client.get("/admin/portal/availabilityrule/").status_code == 200
    assert admin_client.get("/admin/portal/timeoff/").status_code == 200
    # Registered now (for schedulers), so refused rather than unknown: still never shown.
    assert admin_client.get("/admin/portal/appointment/").status_code == 403
    assert "/admin/portal/appointment/" not in admin_client.get("/admin/").content.decode()
