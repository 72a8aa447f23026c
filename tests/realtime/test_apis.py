"""POST /api/v1/realtime/tickets/ and GET /api/v1/events/."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from carecore.realtime.models import EventType, FeedEvent
from carecore.realtime.services import TICKET_PREFIX, NewEvent, event_publish

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/realtime/tickets/"
EVENTS = "/api/v1/events/"


def publish(user_id, count: int = 1) -> None:
    event_publish(
        user_ids=[user_id],
        events=[
            NewEvent(EventType.THREAD_UPDATED, {"thread_id": uuid.uuid4(), "status": "open"})
            for _ in range(count)
        ],
    )


# --- tickets ------------------------------------------------------------------------------------


def test_a_ticket_is_random_short_lived_and_stored_for_its_user(client_for, patient):
    client = client_for(patient.user)

    first = client.post(TICKETS)
    second = client.post(TICKETS)

    assert first.status_code == 201
    assert first["Cache-Control"] == "no-store"
    body = first.json()
    assert set(body) == {"ticket", "expires_at"}
    assert body["ticket"] != second.json()["ticket"]
    assert len(body["ticket"]) >= 40
    expires_at = parse_datetime(body["expires_at"])
    assert expires_at is not None
    lifetime = expires_at - timezone.now()
    assert timedelta(seconds=25) < lifetime <= timedelta(seconds=30)
    store = redis.Redis.from_url(settings.CARECORE_REALTIME_REDIS_URL)
    key = f"{TICKET_PREFIX}{body['ticket']}"
    assert store.get(key) == str(patient.user_id).encode()
    assert 0 < store.ttl(key) <= 30


def test_a_session_signed_in_user_gets_a_ticket_too(patient):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=False)
    client.force_login(patient.user)

    assert client.post(TICKETS).status_code == 201


def test_anonymous_callers_get_no_ticket(anon):
    response = anon.post(TICKETS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_only_post_makes_a_ticket(client_for, patient):
    assert client_for(patient.user).get(TICKETS).status_code == 405


# --- the event list ---------------------------------------------------------------------------


def test_the_list_returns_the_callers_own_events_in_order(client_for, patient, other_patient):
    publish(patient.user_id, 3)
    publish(other_patient.user_id, 2)

    body = client_for(patient.user).get(EVENTS).json()

    assert [event["seq"] for event in body["results"]] == [1, 2, 3]
    first = body["results"][0]
    assert set(first) == {"seq", "type", "at", "data"}
    assert first["type"] == "thread.updated"
    assert set(first["data"]) == {"thread_id", "status"}
    assert body["next"] is None


def test_after_returns_only_later_events_and_pages_through_them(client_for, patient):
    publish(patient.user_id, 7)
    client = client_for(patient.user)

    page = client.get(EVENTS, {"after": 2, "page_size": 3}).json()
    seen = [event["seq"] for event in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [event["seq"] for event in page["results"]]

    assert seen == [3, 4, 5, 6, 7]


def test_after_the_latest_event_is_empty_for_an_up_to_date_client(client_for, patient):
    publish(patient.user_id, 2)

    body = client_for(patient.user).get(EVENTS, {"after": 2}).json()

    assert body["results"] == []


def test_a_pruned_range_answers_410(client_for, patient):
    publish(patient.user_id, 4)
    FeedEvent.objects.filter(seq__lte=2).delete()  # as the retention job would
    client = client_for(patient.user)

    gone = client.get(EVENTS, {"after": 1})
    kept = client.get(EVENTS, {"after": 2})

    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "events_pruned"
    assert [event["seq"] for event in kept.json()["results"]] == [3, 4]


def test_a_number_beyond_the_latest_answers_410_so_the_client_reloads(client_for, patient):
    publish(patient.user_id, 1)

    response = client_for(patient.user).get(EVENTS, {"after": 5})

    assert response.status_code == 410


def test_a_bad_page_size_is_a_400_even_where_the_range_is_gone(client_for, patient):
    publish(patient.user_id, 1)

    response = client_for(patient.user).get(EVENTS, {"after": 5, "page_size": -687})

    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["fields"]


@pytest.mark.parametrize("after", ["-1", "two", "1.5"])
def test_a_malformed_after_is_a_validation_error(client_for, patient, after):
    response = client_for(patient.user).get(EVENTS, {"after": after})

    assert response.status_code == 400
    assert "after" in response.json()["error"]["fields"]


def test_the_list_costs_the_same_queries_whatever_the_number_of_events(
    client_for, patient, django_assert_num_queries
):
    client = client_for(patient.user)
    publish(patient.user_id, 3)
    # The token with its user, the kept range of the feed (Min/Max), the user's latest number,
    # the page of events.
    with django_assert_num_queries(4):
        client.get(EVENTS, {"after": 0})
    publish(patient.user_id, 30)
    with django_assert_num_queries(4):
        client.get(EVENTS, {"after": 0})


def test_anonymous_callers_get_no_events(anon):
    assert anon.get(EVENTS).status_code == 401


@pytest.mark.parametrize("after", ["٣", "+1", " 1", "1_0", "²", str(2**63)])
def test_an_after_not_written_with_ascii_digits_is_a_400_on_after(client_for, patient, after):
    publish(patient.user_id, 3)

    response = client_for(patient.user).get(EVENTS, {"after": after})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"after"}


def test_an_empty_after_is_a_400_not_every_event(client_for, patient):
    # A QueryDict read as an HTML form took `?after=` for "not sent": every kept event.
    publish(patient.user_id, 2)

    response = client_for(patient.user).get(EVENTS, {"after": ""})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"after"}
