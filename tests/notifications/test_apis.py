"""GET /api/v1/notifications/, read, read-all, and GET/PUT /api/v1/notification-preferences/."""

from __future__ import annotations

import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carecore.audit.models import Action, AuditEvent
from carecore.notifications.models import Channel, Event, Notification, NotificationPreference
from carecore.notifications.services import notify

from ..conftest import ACTOR_NAMES

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
PREFS = "/api/v1/notification-preferences/"


def _announce(users, event=Event.MESSAGE_RECEIVED, n=1) -> None:
    for _ in range(n):
        notify(event=event, recipients=users, subject_type="thread", subject_id=uuid.uuid4())


def _in_app(user) -> Notification:
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).latest("created_at")


class TestList:
    @pytest.mark.parametrize(
        "name",
        ACTOR_NAMES,
    )
    def test_every_role_sees_its_own_notifications_only(self, actors, client_for, name):
        _announce(list(actors.values()))
        user = actors[name]

        response = client_for(user).get(LIST)

        assert response.status_code == 200
        (row,) = response.json()["results"]
        assert row["id"] == str(_in_app(user).id)
        assert row["title"] == "New secure message"
        assert row["read_at"] is None

    def test_it_lists_newest_first_with_a_cursor(self, patient, client_for):
        with time_machine.travel("2026-06-10T12:00:00Z") as clock:
            for event in (Event.APPOINTMENT_BOOKED, Event.CHECKIN_DUE, Event.CARE_PLAN_PUBLISHED):
                clock.shift(60)
                _announce([patient.user], event=event)
        client = client_for(patient.user)

        first = client.get(LIST, {"page_size": 2}).json()
        second = client.get(first["next"]).json()

        assert [row["event"] for row in first["results"] + second["results"]] == [
            "care_plan_published",
            "checkin_due",
            "appointment_booked",
        ]

    def test_it_filters_unread(self, patient, client_for):
        _announce([patient.user], n=2)
        Notification.objects.filter(pk=_in_app(patient.user).pk).update(read_at="2026-01-01T00:00Z")

        response = client_for(patient.user).get(LIST, {"unread": "true"})

        assert len(response.json()["results"]) == 1

    @pytest.mark.parametrize("value", ["", "null", "unread"])
    def test_an_empty_or_unknown_unread_is_a_400(self, patient, client_for, value):
        response = client_for(patient.user).get(LIST, {"unread": value})

        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"unread": ["Use true or false."]}

    def test_it_audits_each_listed_notification(self, patient, client_for):
        _announce([patient.user], n=2)

        client_for(patient.user).get(LIST)

        # One event for the page (one patient), naming both rows shown.
        (listed,) = AuditEvent.objects.filter(object_type="notification", action=Action.LIST)
        assert listed.patient_id == patient.id
        assert len(listed.detail["object_ids"]) == 2

    @pytest.mark.parametrize("rows", [1, 20])
    def test_its_query_count_does_not_grow_with_rows(self, patient, client_for, rows):
        _announce([patient.user], n=rows)
        client = client_for(patient.user)

        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        # 1 the token with its user and the user's patient (audit patient_id), 2 the page,
        # 3 the audit insert (one event for the page)
        assert len(queries) == 3, [query["sql"] for query in queries]

    def test_it_pins_the_query_count(self, patient, client_for, django_assert_num_queries):
        _announce([patient.user], n=30)
        client = client_for(patient.user)

        # the token with its user and patient, the page, one audit INSERT
        with django_assert_num_queries(3):
            client.get(LIST)

    def test_anonymous_gets_401(self, anon):
        assert anon.get(LIST).status_code == 401


class TestRead:
    def test_it_marks_one_read(self, patient, client_for):
        _announce([patient.user])
        row = _in_app(patient.user)

        response = client_for(patient.user).post(f"{LIST}{row.id}/read/")

        assert response.status_code == 200
        assert response.json()["read_at"] is not None
        row.refresh_from_db()
        assert row.read_at is not None

    @pytest.mark.parametrize(
        "name", ["other_patient", "clinician", "coordinator", "scheduler", "admin"]
    )
    def test_someone_elses_notification_is_not_found(self, actors, client_for, name):
        _announce([actors["patient"]])
        row = _in_app(actors["patient"])

        response = client_for(actors[name]).post(f"{LIST}{row.id}/read/")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        row.refresh_from_db()
        assert row.read_at is None
        assert AuditEvent.objects.filter(object_id=str(row.id), outcome="denied").exists()

    def test_an_unknown_id_is_not_found_the_same_way(self, patient, client_for):
        response = client_for(patient.user).post(f"{LIST}{uuid.uuid4()}/read/")

        assert response.status_code == 404

    def test_an_email_row_is_not_an_in_app_notification(self, patient, client_for):
        _announce([patient.user])
        email = Notification.objects.get(recipient=patient.user, channel=Channel.EMAIL)

        assert client_for(patient.user).post(f"{LIST}{email.id}/read/").status_code == 404

    def test_read_all_marks_only_the_callers_unread_rows(self, patient, other_patient, client_for):
        _announce([patient.user, other_patient.user], n=3)

        response = client_for(patient.user).post(f"{LIST}read-all/")

        assert response.json() == {"marked": 3}
        assert not Notification.objects.filter(
            recipient=patient.user, channel=Channel.IN_APP, read_at__isnull=True
        ).exists()
        assert (
            Notification.objects.filter(
                recipient=other_patient.user, channel=Channel.IN_APP, read_at__isnull=True
            ).count()
            == 3
        )


def _pref(body: dict, event: str, channel: str) -> bool:
    (enabled,) = [
        row["enabled"]
        for row in body["preferences"]
        if row["event"] == event and row["channel"] == channel
    ]
    return enabled


class TestPreferences:
    def test_a_patient_sees_every_event_and_channel_with_role_defaults(self, patient, client_for):
        body = client_for(patient.user).get(PREFS).json()

        assert len(body["preferences"]) == len(Event.values) * len(Channel.values)
        assert _pref(body, "appointment_reminder", "sms") is True
        assert _pref(body, "message_received", "sms") is False
        assert _pref(body, "message_received", "in_app") is True
        assert body["quiet_hours"] == {"start": "21:00", "end": "08:00"}

    @pytest.mark.parametrize(
        ("name", "event", "channel", "enabled"),
        [
            ("clinician", "intake_red_flag", "sms", True),
            ("coordinator", "triage_urgent", "email", True),
            ("scheduler", "appointment_cancelled", "email", True),
            ("scheduler", "intake_red_flag", "email", False),
            ("admin", "appointment_booked", "email", False),
        ],
    )
    def test_staff_get_their_roles_defaults(
        self, actors, client_for, name, event, channel, enabled
    ):
        body = client_for(actors[name]).get(PREFS).json()

        assert _pref(body, event, channel) is enabled

    def test_put_replaces_only_the_listed_rows(self, patient, client_for):
        client = client_for(patient.user)
        client.put(
            PREFS,
            {"preferences": [{"event": "checkin_due", "channel": "email", "enabled": False}]},
        )

        response = client.put(
            PREFS,
            {
                "preferences": [
                    {"event": "message_received", "channel": "sms", "enabled": True},
                ],
                "quiet_hours": {"start": "22:30", "end": "06:45"},
            },
        )

        assert response.status_code == 200
        body = response.json()
        assert _pref(body, "message_received", "sms") is True
        assert _pref(body, "checkin_due", "email") is False  # kept from the first PUT
        assert _pref(body, "appointment_reminder", "sms") is True  # still the default
        assert body["quiet_hours"] == {"start": "22:30", "end": "06:45"}
        assert NotificationPreference.objects.filter(user=patient.user).count() == 2

    def test_quiet_hours_null_turns_them_off_and_omitting_them_keeps_them(
        self, patient, client_for
    ):
        client = client_for(patient.user)

        off = client.put(PREFS, {"preferences": [], "quiet_hours": None}).json()
        kept = client.put(PREFS, {"preferences": []}).json()

        assert off["quiet_hours"] is None and kept["quiet_hours"] is None

    @pytest.mark.parametrize(
        "body",
        [
            {"preferences": [{"event": "eczema", "channel": "email", "enabled": True}]},
            {"preferences": [{"event": "checkin_due", "channel": "fax", "enabled": True}]},
            {
                "preferences": [
                    {"event": "checkin_due", "channel": "email", "enabled": True},
                    {"event": "checkin_due", "channel": "email", "enabled": False},
                ]
            },
            {"quiet_hours": {"start": "25:00", "end": "07:00"}},
            {"quiet_hours": {"start": "7pm", "end": "07:00"}},
            {"quiet_hours": {"start": "07:00", "end": "07:00"}},
        ],
    )
    def test_it_rejects_invalid_input(self, patient, client_for, body):
        response = client_for(patient.user).put(PREFS, body, format="json")

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
        assert not NotificationPreference.objects.exists()

    def test_preferences_are_per_user(self, patient, other_patient, client_for):
        client_for(patient.user).put(
            PREFS, {"preferences": [{"event": "checkin_due", "channel": "email", "enabled": False}]}
        )

        assert _pref(client_for(other_patient.user).get(PREFS).json(), "checkin_due", "email")

    def test_anonymous_gets_401(self, anon):
        assert anon.get(PREFS).status_code == 401
        assert anon.put(PREFS, {}).status_code == 401


def test_the_openapi_schema_describes_the_endpoints(admin_user, client_for):
    schema = client_for(admin_user).get("/api/schema/?format=json").json()

    assert {"/api/v1/notifications/", "/api/v1/notification-preferences/"} <= set(schema["paths"])
    assert "/api/v1/notifications/{notification_id}/read/" in schema["paths"]
