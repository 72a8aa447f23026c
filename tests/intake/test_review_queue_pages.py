"""Following `next` (and `previous`) through the review queue reaches every review exactly once,
in the queue's order, however long a run of equal `urgent` and `expedited` values is.

DRF's CursorPagination keeps only the ordering's first column (`urgent`) in its cursor and steps
through a run of equal values by offset, which it caps at 1000: from there every `next` answered
the same page, and a clinician with more than a thousand completed routine reviews could never
reach the rest. The queue now pages on its whole order, (-urgent, -expedited, created_at, id)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from intake.models import (
    IntakeReview,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    ReviewStatus,
)

from .helpers import REVIEWS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROUTINE = 1050  # past DRF's offset cap (1000) for a run of equal `urgent`


def _completed_reviews(patient, clinician, count: int, **fields) -> list[IntakeReview]:
    """`count` completed reviews of completed POEM responses, three to a creation time (the id
    breaks those ties), in bulk: the queue's order is what is under test, not how rows get in."""
    version = QuestionnaireVersion.objects.get(questionnaire__slug="poem", is_current=True)
    offset = QuestionnaireResponse.objects.count()
    times = [START + timedelta(minutes=(offset + n) // 3) for n in range(count)]
    responses = QuestionnaireResponse.objects.bulk_create(
        QuestionnaireResponse(
            patient=patient,
            version=version,
            status=ResponseStatus.COMPLETED,
            answers={},
            created_at=at,
            updated_at=at,
            completed_at=at,
        )
        for at in times
    )
    return IntakeReview.objects.bulk_create(
        IntakeReview(
            response=response,
            patient=patient,
            status=ReviewStatus.COMPLETED,
            created_at=at,
            completed_at=at + timedelta(hours=1),
            completed_by=clinician.user,
            **fields,
        )
        for response, at in zip(responses, times, strict=True)
    )


def _queue_order(reviews: list[IntakeReview]) -> list[str]:
    # PostgreSQL orders uuids byte by byte, as Python orders UUIDs.
    reviews = sorted(reviews, key=lambda r: (not r.urgent, not r.expedited, r.created_at, r.id))
    return [str(review.id) for review in reviews]


@pytest.fixture
def long_history(patient, clinician) -> list[str]:
    """The queue's order of more than a thousand completed routine reviews, with a few urgent and
    expedited ones (created last, shown first)."""
    reviews = _completed_reviews(patient, clinician, ROUTINE)
    reviews += _completed_reviews(patient, clinician, 4, urgent=True)
    reviews += _completed_reviews(patient, clinician, 5, expedited=True)
    return _queue_order(reviews)


def _follow(client, first_url: str, link: str, *, limit: int) -> list[dict]:
    pages = [client.get(first_url).json()]
    while pages[-1][link]:
        assert len(pages) < limit, f"{link} did not end"
        pages.append(client.get(pages[-1][link]).json())
    return pages


def test_following_next_reaches_every_review_once_in_order(client_for, clinician, long_history):
    client = client_for(clinician.user)
    pages = _follow(
        client, f"{REVIEWS}?status=completed&page_size=200", "next", limit=len(long_history)
    )

    shown = [item["id"] for page in pages for item in page["results"]]
    assert shown == long_history
    assert [len(page["results"]) for page in pages] == [200] * 5 + [59]
    assert pages[0]["previous"] is None


def test_following_previous_from_the_last_page_reaches_every_review_once(
    client_for, clinician, long_history
):
    client = client_for(clinician.user)
    forwards = _follow(
        client, f"{REVIEWS}?status=completed&page_size=200", "next", limit=len(long_history)
    )

    backwards = _follow(client, forwards[-1]["previous"], "previous", limit=len(long_history))

    shown = [item["id"] for page in reversed(backwards) for item in page["results"]]
    assert shown == long_history[: -len(forwards[-1]["results"])]
    assert backwards[-1]["results"] == forwards[0]["results"]


def test_a_page_deep_in_the_queue_costs_what_the_first_does(
    client_for, clinician, long_history, django_assert_num_queries
):
    client = client_for(clinician.user)
    url = f"{REVIEWS}?status=completed&page_size=50"
    for _ in range(21):  # page 22: the queue's rows from 1051 on, past the offset cap
        url = client.get(url).json()["next"]
    # the token with its user, the page (keyset on the queue's whole order), one audit INSERT
    with django_assert_num_queries(3):
        page = client.get(url).json()

    assert [item["id"] for item in page["results"]] == long_history[1050:]
    assert page["next"] is None


def _cursor(position, backwards=False) -> str:
    raw = json.dumps({"p": position, "r": backwards}).encode()
    return base64.urlsafe_b64encode(raw).decode()


A_REVIEW = "00000000-0000-0000-0000-000000000001"
QUEUE_FORGERIES = {
    "a time without an offset": _cursor([False, False, "2026-01-05T09:00:00", A_REVIEW]),
    "no time": _cursor([False, False, "soon", A_REVIEW]),
    "an id that is no id": _cursor([False, False, "2026-01-05T09:00:00+00:00", "x"]),
    "a flag that is a number": _cursor([0, False, "2026-01-05T09:00:00+00:00", A_REVIEW]),
    "a time that is a number": _cursor([False, False, 1767603600, A_REVIEW]),
    "too few values": _cursor([False, False, "2026-01-05T09:00:00+00:00"]),
    "a direction that is no direction": _cursor(None, backwards="yes"),
    "no direction": base64.urlsafe_b64encode(b'{"p": null}').decode(),
    "not an object": base64.urlsafe_b64encode(b"[1, 2]").decode(),
    "JSON nested past the parser": base64.urlsafe_b64encode(b"[" * 100_000).decode(),
    "not JSON": base64.urlsafe_b64encode(b"o=0&r=0&p=2026-01-05").decode(),
    "not text": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "not base64": "%%%",
}


@pytest.mark.parametrize("forgery", QUEUE_FORGERIES)
def test_a_forged_queue_cursor_is_not_found(client_for, patient, clinician, forgery):
    _completed_reviews(patient, clinician, 3)
    client = client_for(clinician.user)

    response = client.get(REVIEWS, {"status": "completed", "cursor": QUEUE_FORGERIES[forgery]})

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_a_cursor_from_a_page_past_the_end_leads_back_to_the_last_page(
    client_for, patient, clinician
):
    reviews = _queue_order(_completed_reviews(patient, clinician, 5))
    client = client_for(clinician.user)
    first = client.get(REVIEWS, {"status": "completed", "page_size": 3}).json()
    IntakeReview.objects.filter(id__in=reviews[3:]).delete()  # gone before the next page

    past = client.get(first["next"]).json()
    last = client.get(past["previous"]).json()

    assert (past["results"], past["next"]) == ([], None)
    assert [item["id"] for item in last["results"]] == reviews[:3]
    assert last["next"] is None
