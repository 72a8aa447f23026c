"""CompiledPages and PagedRows (carecore/common/pagination.py): a list compiled once per shape,
paged by DRF's CursorPagination as a queryset would be."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from rest_framework.exceptions import NotFound

from carecore.common.pagination import CompiledPages
from messaging.models import Thread
from messaging.services import thread_open

pytestmark = pytest.mark.django_db

ORDERING = ("-last_message_at", "-id")


def _threads(shape: str, *, patient_ids: list[uuid.UUID], subject: str | None = None):
    threads = Thread.objects.filter(patient_id__any=patient_ids)
    if shape == "by subject":
        threads = threads.filter(subject=subject)
    return threads.values("id", "subject", "last_message_at")


def _kinds(shape: str) -> dict[str, type]:
    return {"patient_ids": list, **({"subject": str} if shape == "by subject" else {})}


def _pages() -> CompiledPages[dict[str, Any]]:
    return CompiledPages(Thread, _threads, _kinds)


@pytest.fixture
def threads(patient, other_patient, clock):
    """Six threads of two patients; the third and fourth share their last activity."""
    opened = []
    for number in range(6):
        owner = patient if number % 2 else other_patient
        opened.append(
            thread_open(
                actor=owner.user, subject=f"s{number % 2}", category="clinical", body="Hi."
            ).thread
        )
        if number != 2:
            clock.shift(timedelta(minutes=1))
    return opened


def test_pages_read_what_the_queryset_reads(patient, other_patient, threads):
    pages = _pages()
    patient_ids = [patient.id, other_patient.id]
    queryset = _threads("all", patient_ids=patient_ids).order_by(*ORDERING)
    rows = pages.rows("all", patient_ids=patient_ids).order_by(*ORDERING)

    assert list(rows[0:4]) == list(queryset[0:4])
    assert list(rows[2:5]) == list(queryset[2:5])
    # The cursor's position comes as text, as CursorPagination writes it.
    position = str(threads[3].last_message_at)
    assert list(rows.filter(last_message_at__lt=position)[0:3]) == list(
        queryset.filter(last_message_at__lt=position)[0:3]
    )
    assert list(
        pages.rows("by subject", patient_ids=[patient.id], subject="s1").order_by(*ORDERING)[0:9]
    ) == list(_threads("by subject", patient_ids=[patient.id], subject="s1").order_by(*ORDERING))


def test_each_shape_is_compiled_once_and_their_number_is_bounded(patient, threads):
    pages = _pages()
    pages.MAX_SHAPES = 3
    rows = pages.rows("all", patient_ids=[patient.id]).order_by(*ORDERING)

    for size in (1, 2, 3, 4, 5, 1, 2):
        assert len(list(rows[0:size])) == min(size, 3)
    assert len(pages._compiled) == 3
    first = pages.compiled_once("all", rows[0:2]._page)
    assert pages.compiled_once("all", rows[0:2]._page) is first


def test_a_cursor_position_that_is_no_time_is_not_found(patient):
    rows = _pages().rows("all", patient_ids=[patient.id]).order_by(*ORDERING)
    with pytest.raises(NotFound):
        rows.filter(last_message_at__lt="not a time")


def test_only_what_the_paginator_asks_is_taken(patient):
    rows = _pages().rows("all", patient_ids=[patient.id]).order_by(*ORDERING)
    with pytest.raises(TypeError):
        rows.filter(last_message_at__lt="2026-12-01 10:00:00+00:00", subject="s1")
    with pytest.raises(TypeError):
        rows[0:2][0:1]
    with pytest.raises(TypeError):
        rows[0:10:2]


def _prepared_thread_pages() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    # A page of threads: the whole statement ends with its LIMIT (the locked read of one thread
    # ends with FOR UPDATE).
    return [
        text
        for text in statements
        if 'FROM "messaging_thread"' in text and re.search(r"LIMIT \d+( OFFSET \d+)?$", text)
    ]


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_the_inbox_pages_are_prepared(reader, client_for, clinician, patient, threads):
    """The one list page that is prepared (messaging.selectors._SUMMARIES), so PostgreSQL may
    run it on a generic plan: every plan reads the threads of the reader's patients through
    their patient index (the staff member's patients found in the query itself, which no plan
    knows beforehand), and the reader's read state only for the rows shown. When the patients
    were an array parameter, the generic plan (made for ten patients) joined every read state:
    13 ms at the full-size seed of bench/messaging_reads.py, against 3.5 ms planned for the
    parameters (docs/benchmarks.md); that script prints the generic plan beside the other."""
    client = client_for(patient.user if reader == "patient" else clinician.user)
    for _ in range(7):
        first = client.get("/api/v1/threads/", {"page_size": 1})
        assert first.status_code == 200 and first.json()["next"]
        assert client.get(first.json()["next"]).status_code == 200
    assert len(_prepared_thread_pages()) == 2  # the first page, and a page after a position


def test_a_forged_inbox_cursor_is_a_404(client_for, clinician, threads):
    cursor = base64.b64encode(b"o=0&r=0&p=not-a-time").decode()
    response = client_for(clinician.user).get("/api/v1/threads/", {"cursor": cursor})
    assert response.status_code == 404


def test_a_forged_message_page_cursor_is_a_404(client_for, patient, clinician, threads):
    thread = threads[1]  # the patient's
    cursor = base64.b64encode(b"o=0&r=0&p=not-a-number").decode()
    for user in (patient.user, clinician.user):
        response = client_for(user).get(
            f"/api/v1/threads/{thread.id}/messages/", {"cursor": cursor}
        )
        assert response.status_code == 404


def test_a_list_cannot_name_a_value_as_the_cursor_position_is_named(patient):
    pages = CompiledPages(Thread, _threads, lambda shape: {"cursor_position": str})
    with pytest.raises(ValueError, match="cursor_position"):
        list(pages.rows("all", cursor_position="x").order_by(*ORDERING)[0:2])
