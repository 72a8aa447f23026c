"""Weekly rules and time off: the clinician manages their own, schedulers everyone's."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from carecore.audit.models import AuditEvent
from portal.models import AvailabilityRule, TimeOff

from .conftest import TOMORROW, appointment_url, at, availability_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

MANAGERS = ["clinician", "scheduler"]
RULE = {"kind": "rule", "weekday": 0, "start": "09:00", "end": "12:30", "visit_types": ["new"]}


def rule_url(clinician, rule) -> str:
    return f"{availability_url(clinician)}rules/{rule.id}/"


def time_off_url(clinician, time_off) -> str:
    return f"{availability_url(clinician)}time-off/{time_off.id}/"


@pytest.mark.parametrize("role", MANAGERS)
def test_the_clinician_and_schedulers_add_a_weekly_rule(client_for, actors, clinician, role):
    response = client_for(actors[role]).post(availability_url(clinician), RULE, format="json")

    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("weekday", "start", "end", "visit_types")} == {
        "weekday": 0,
        "start": "09:00",
        "end": "12:30",
        "visit_types": ["new"],
    }
    assert AuditEvent.objects.filter(
        object_type="availability_rule", object_id=body["id"], action="create"
    ).exists()


@pytest.mark.parametrize("role", MANAGERS)
def test_the_clinician_and_schedulers_read_rules_and_time_off(
    client_for, actors, clinician, schedules, role
):
    client = client_for(actors[role])
    client.post(
        availability_url(clinician),
        {
            "kind": "time_off",
            "start": "2026-06-12T00:00:00-04:00",
            "end": "2026-06-13T00:00:00-04:00",
        },
        format="json",
    )

    body = client.get(availability_url(clinician)).json()

    assert body["clinician"] == str(clinician.id)
    assert body["timezone"] == "America/New_York"
    assert len(body["rules"]) == 7
    assert body["rules"][0]["start"] == "08:00"
    assert [(item["start"], item["end"]) for item in body["time_off"]] == [
        ("2026-06-12T00:00:00-04:00", "2026-06-13T00:00:00-04:00")
    ]


def test_time_off_reports_visits_already_booked_inside_it(
    client_for, scheduler, appointment, clinician
):
    response = client_for(scheduler).post(
        availability_url(clinician),
        {
            "kind": "time_off",
            "start": at(TOMORROW, 9).isoformat(),
            "end": at(TOMORROW, 17).isoformat(),
            "note": "conference",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["conflicting_appointments"] == 1
    # Still booked: staff move it deliberately, nobody is cancelled behind their back.
    assert client_for(scheduler).get(appointment_url(appointment)).json()["status"] == "booked"


def test_time_off_from_before_standard_time_is_written_in_utc(client_for, scheduler, clinician):
    # In the clinician's zone (New York) an 1850 instant has local mean time's offset,
    # -04:56:02, which RFC 3339 cannot write; the API wrote "...-04:56:02" anyway. (Time off
    # that has not ended is listed: this one ends in the far future.)
    client = client_for(scheduler)
    created = client.post(
        availability_url(clinician),
        {"kind": "time_off", "start": "1850-01-01T12:00:00Z", "end": "2999-01-02T12:00:00Z"},
        format="json",
    )
    listed = client.get(availability_url(clinician)).json()["time_off"]

    assert created.status_code == 201
    assert (created.json()["start"], created.json()["end"]) == (
        "1850-01-01T12:00:00Z",
        "2999-01-02T07:00:00-05:00",  # a time in its zone's own offset, as before
    )
    assert ("1850-01-01T12:00:00Z", "2999-01-02T07:00:00-05:00") in [
        (item["start"], item["end"]) for item in listed
    ]


@pytest.mark.parametrize("role", MANAGERS)
def test_a_rule_can_be_changed_and_deleted(client_for, actors, clinician, role):
    client = client_for(actors[role])
    rule_id = client.post(availability_url(clinician), RULE, format="json").json()["id"]
    rule = AvailabilityRule.objects.get(pk=rule_id)

    changed = client.patch(rule_url(clinician, rule), {"end": "17:00"}, format="json")
    deleted = client.delete(rule_url(clinician, rule))

    assert changed.status_code == 200
    assert changed.json()["end"] == "17:00"
    assert deleted.status_code == 204
    assert not AvailabilityRule.objects.filter(pk=rule_id).exists()
    assert AuditEvent.objects.filter(object_id=rule_id, action="delete").exists()


@pytest.mark.parametrize("role", MANAGERS)
def test_time_off_can_be_deleted(client_for, actors, clinician, role):
    client = client_for(actors[role])
    created = client.post(
        availability_url(clinician),
        {"kind": "time_off", "start": "2026-06-12T09:00:00Z", "end": "2026-06-12T12:00:00Z"},
        format="json",
    ).json()
    time_off = TimeOff.objects.get(pk=created["id"])

    response = client.delete(time_off_url(clinician, time_off))

    assert response.status_code == 204
    assert not TimeOff.objects.exists()


def test_a_clinician_cannot_touch_another_clinicians_availability(
    client_for, clinician, other_clinician, schedules
):
    client = client_for(other_clinician.user)
    rule = AvailabilityRule.objects.filter(clinician=clinician)[0]

    assert client.get(availability_url(clinician)).status_code == 404
    assert client.post(availability_url(clinician), RULE, format="json").status_code == 404
    assert (
        client.patch(rule_url(clinician, rule), {"end": "09:00"}, format="json").status_code == 404
    )
    assert client.delete(rule_url(clinician, rule)).status_code == 404
    # A rule id under one's own clinician id does not reach someone else's rule either.
    assert client.delete(rule_url(other_clinician, rule)).status_code == 404
    assert AvailabilityRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize("role", ["patient", "coordinator", "admin"])
def test_other_roles_may_not_manage_availability(client_for, actors, clinician, role):
    client = client_for(actors[role])

    assert client.get(availability_url(clinician)).status_code == 403
    assert client.post(availability_url(clinician), RULE, format="json").status_code == 403


def test_anonymous_callers_cannot_see_availability(anon, clinician):
    assert anon.get(availability_url(clinician)).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RULE, "end": "08:00"}, "end"),
        ({**RULE, "visit_types": ["surgery"]}, "visit_types"),
        ({**RULE, "weekday": 7}, "weekday"),
        ({"kind": "holiday"}, "kind"),
        ({"kind": "time_off", "start": "2026-06-12T09:00:00", "end": "2026-06-12T10:00Z"}, "start"),
        ({"kind": "time_off", "start": "2026-06-12T10:00Z", "end": "2026-06-12T09:00Z"}, "end"),
    ],
    ids=["end-before-start", "unknown-visit-type", "bad-weekday", "bad-kind", "naive", "reversed"],
)
def test_invalid_availability_is_a_validation_error(client_for, clinician, body, field):
    response = client_for(clinician.user).post(availability_url(clinician), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]


def test_a_new_rule_opens_slots_at_once(client_for, clinician, patient):
    client_for(clinician.user).post(
        availability_url(clinician),
        {"kind": "rule", "weekday": 3, "start": "09:00", "end": "10:00", "visit_types": ["new"]},
        format="json",
    )

    results = (
        client_for(patient.user)
        .get("/api/v1/slots/", {"date": "2026-06-11", "visit_type": "new"})
        .json()["results"]
    )

    assert [item["start"] for item in results] == [
        "2026-06-11T09:00:00-04:00",
        "2026-06-11T09:30:00-04:00",
    ]


def test_seeding_the_same_week_twice_creates_no_duplicates(clinician):
    from portal.services import availability_weekly_ensure

    from .conftest import give_availability

    give_availability(clinician)
    give_availability(clinician)
    availability_weekly_ensure(
        actor=None,
        clinician=clinician,
        weekdays=range(7),
        start_time=at(TOMORROW, 8).time(),
        end_time=at(TOMORROW, 20).time(),
    )

    assert AvailabilityRule.objects.filter(clinician=clinician).count() == 7


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("patient", 403),
        ("other_patient", 403),
        ("coordinator", 403),
        ("admin", 403),
        ("other_clinician", 404),
    ],
)
def test_rule_and_time_off_changes_are_refused_to_everyone_else(
    client_for, actors, clinician, schedules, role, expected
):
    from portal import services

    rule = AvailabilityRule.objects.filter(clinician=clinician)[0]
    time_off = services.time_off_create(
        actor=None, clinician=clinician, starts_at=at(TOMORROW, 9), ends_at=at(TOMORROW, 10)
    )
    client = client_for(actors[role])

    assert client.patch(rule_url(clinician, rule), {"end": "09:00"}, format="json").status_code == (
        expected
    )
    assert client.delete(rule_url(clinician, rule)).status_code == expected
    assert client.delete(time_off_url(clinician, time_off)).status_code == expected
    assert AvailabilityRule.objects.filter(pk=rule.pk, end_time="20:00").exists()
    assert TimeOff.objects.filter(pk=time_off.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_change_racing_a_delete_finds_the_rule_gone(client_for, clinician):
    """A change that reads the rule while another request deletes it waits for the delete and
    answers 404 (it had saved into the deleted row: a 500 the API fuzzing found)."""
    client = client_for(clinician.user)
    rule_id = client.post(availability_url(clinician), RULE, format="json").json()["id"]
    rule = AvailabilityRule.objects.get(pk=rule_id)
    deleting, done = threading.Event(), threading.Event()

    def delete_slowly() -> None:
        try:
            with transaction.atomic():
                AvailabilityRule.objects.select_for_update().filter(pk=rule_id).delete()
                deleting.set()
                time.sleep(0.5)  # the change arrives while the delete is not yet committed
        finally:
            connection.close()
            done.set()

    threading.Thread(target=delete_slowly).start()
    assert deleting.wait(5)
    changed = client.patch(rule_url(clinician, rule), {"end": "17:00"}, format="json")
    assert done.wait(5)

    assert changed.status_code == 404
