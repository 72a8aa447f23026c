"""Messages partitioned by month (messaging migration 0003, docs/scaling.md "Growing tables"):
rows at 23:59:59 and 00:00:00 UTC land in their months, the thread page reads only the months
since the thread began, the previews (inbox, thread list, thread detail) and an attachment's
access check only the months of their messages (asserted on
EXPLAIN's text, never on timings), and the references into the partitioned table are still
checked (triggers instead of foreign keys), a thread's last public message by its time too
(messaging migration 0008)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carecore.common import partitions
from messaging import services
from messaging.models import Attachment, Message, Thread

from ..common.test_partitions import month_boundary, partition_of
from ..patient_web.conftest import sign_in
from .conftest import open_thread
from .test_attachments import PDF, send_with, upload


@pytest.fixture
def boundary(db: None) -> datetime:
    return month_boundary()


@pytest.fixture
def months_around_now(db: None) -> list[str]:
    """Message partitions from three months back to next month (the test clock's), empty."""
    this_month = partitions.month_start(datetime.now(UTC))
    months = [partitions.add_months(this_month, ahead) for ahead in range(-3, 2)]
    with connection.cursor() as cursor:
        partitions.create_month_partitions(cursor, "messaging_message", months)
    return [partitions.partition_name("messaging_message", month) for month in months]


def test_messages_either_side_of_midnight_utc_land_in_their_months(boundary, thread):
    # 23:59:59 and 00:00:00 UTC: in New York it is still the same evening for both.
    before, at = Message.objects.bulk_create(
        [
            Message(
                thread=thread,
                sender_kind="system",
                body="b",
                created_at=created_at,
                position=position,
                public_position=position,
            )
            for position, created_at in [(2, boundary - timedelta(seconds=1)), (3, boundary)]
        ]
    )

    last_month = partitions.add_months(boundary.date(), -1)
    assert partition_of("messaging_message", before.pk) == f"messaging_message_p{last_month:%Y_%m}"
    assert partition_of("messaging_message", at.pk) == f"messaging_message_p{boundary:%Y_%m}"
    # Django still finds a message by its id alone.
    assert Message.objects.get(pk=at.pk).created_at == boundary


def test_a_message_is_never_older_than_its_thread(thread, patient):
    # A web process whose clock lags the one that opened the thread.
    Thread.objects.filter(pk=thread.pk).update(created_at=thread.created_at + timedelta(seconds=5))

    sent = services.message_send(actor=patient.user, thread_id=thread.id, body="And now?")

    thread.refresh_from_db()
    assert sent.message.created_at == thread.created_at


def _thread_page_plan(client, thread: Thread) -> str:
    """EXPLAIN of the messages query the thread page's API request really ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/threads/{thread.id}/messages/")
    assert response.status_code == 200
    [query] = [q["sql"] for q in queries if 'FROM "messaging_message"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {query}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_thread_page_reads_only_the_months_since_the_thread_began(
    months_around_now, patient, clinician, client_for
):
    three_back, two_back, last_month, this_month, _ = months_around_now
    thread = open_thread(patient)

    for client in (client_for(clinician.user), client_for(patient.user)):
        plan = _thread_page_plan(client, thread)

        assert this_month in plan
        for earlier in (three_back, two_back, last_month):
            assert earlier not in plan


def test_an_older_thread_page_reads_its_months_and_no_earlier(
    months_around_now, patient, clinician, client_for, clock
):
    three_back, *_, this_month, _ = months_around_now
    clock.move_to(datetime.now(UTC) - timedelta(days=40))  # a month or two back
    thread = open_thread(patient)
    started = partitions.partition_name(
        "messaging_message", partitions.month_start(thread.created_at)
    )
    clock.move_to(datetime.now(UTC) + timedelta(days=40))
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Following up.")

    plan = _thread_page_plan(client_for(clinician.user), thread)

    assert started in plan and this_month in plan
    for earlier in months_around_now[: months_around_now.index(started)]:
        assert earlier not in plan
    assert three_back not in plan


def _captured(client, url: str, marker: str) -> str:
    """The one query of the request to `url` whose SQL contains `marker`."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    [query] = [q["sql"] for q in queries if marker in q["sql"]]
    return query


def _lines_naming(plan: str, partition: str) -> list[str]:
    return [line for line in plan.splitlines() if f" {partition} " in f"{line} "]


def _assert_only_read_in(query: str, month: str, *, others: list[str]) -> None:
    """`query`'s plan holds every month's partition and, as it runs, reads `month`'s only (the
    others "never executed": pruned at run time). Sequential scans off, so that a small test
    table does not decide the plan."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert any("never executed" not in line for line in _lines_naming(plan, month))
    for other in others:
        assert _lines_naming(plan, other), other
        assert all("never executed" in line for line in _lines_naming(plan, other)), plan


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_the_inbox_previews_read_only_the_months_of_the_messages_shown(
    reader, months_around_now, patient, clinician, client_for
):
    # The previews are found by id and time, both parameters: every month's partition is in the
    # plan, and PostgreSQL prunes all but the messages' months as it runs.
    *earlier, this_month, next_month = months_around_now
    for subject in ("Flare on my arms", "Itchy scalp"):
        open_thread(patient, subject=subject)
    user = patient.user if reader == "patient" else clinician.user
    query = _captured(client_for(user), "/api/v1/threads/", "unnest(")

    _assert_only_read_in(query, this_month, others=[*earlier, next_month])


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_a_thread_detail_reads_its_preview_from_its_month_only(
    reader, months_around_now, patient, clinician, client_for
):
    # As the inbox's previews: the thread's last public message is joined by id and time, so
    # every month but its own is pruned as the query runs.
    *earlier, this_month, next_month = months_around_now
    thread = open_thread(patient)
    user = patient.user if reader == "patient" else clinician.user
    query = _captured(client_for(user), f"/api/v1/threads/{thread.id}/", '"messaging_message"')

    _assert_only_read_in(query, this_month, others=[*earlier, next_month])


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_an_attachment_download_reads_its_message_in_the_messages_month_only(
    reader, months_around_now, patient, clinician, client_for
):
    *earlier, this_month, next_month = months_around_now
    thread = open_thread(patient)
    sender = client_for(patient.user)
    attachment_id = upload(sender, PDF, "labs.pdf", "application/pdf").json()["id"]
    assert send_with(sender, thread, attachment_id).status_code == 201
    user = patient.user if reader == "patient" else clinician.user

    # The one query of the download that reads messages (the attachment's own row has the
    # message's id and time).
    query = _captured(
        client_for(user), f"/api/v1/attachments/{attachment_id}/", '"messaging_message"'
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert this_month in plan
    for other in [*earlier, next_month]:
        assert other not in plan


def test_the_patients_thread_list_reads_its_previews_from_their_months_only(
    months_around_now, patient
):
    *earlier, this_month, next_month = months_around_now
    open_thread(patient)
    browser = Client()
    sign_in(browser, patient.user)

    query = _captured(browser, "/messages/", 'FROM "messaging_message"')
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert this_month in plan
    for other in [*earlier, next_month]:
        assert other not in plan


def _sort_nodes(plan: str) -> list[str]:
    return [line for line in plan.splitlines() if re.match(r"\s*(->\s+)?Sort\s+\(", line)]


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_a_thread_page_reads_its_messages_in_order_from_an_index(
    reader, patient, clinician, client_for
):
    # With sequential scans off, so that a small test table does not decide the plan: each
    # reader's page order has an index, so no plan sorts the thread's messages (the patient's,
    # in public_position order, once sorted every message of the thread).
    thread = open_thread(patient)
    user = patient.user if reader == "patient" else clinician.user
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")

        plan = _thread_page_plan(client_for(user), thread)

    ordered_by = "public_position" if reader == "patient" else "position_created_at"
    assert f"thread_id_{ordered_by}" in plan
    assert _sort_nodes(plan) == []


def _check_references_now() -> None:
    # The reference triggers are deferred to commit, as Django's foreign keys are.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_an_attachment_cannot_name_a_message_that_does_not_exist(clinician):
    with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
        Attachment.objects.create(
            uploaded_by=clinician.user,
            message_id="00000000-0000-0000-0000-000000000000",
            message_created_at=datetime.now(UTC),
            content_type="image/png",
            size=1,
            sha256="0" * 64,
            storage_name="nowhere.png",
        )
        _check_references_now()


def test_a_referenced_message_cannot_be_deleted_behind_djangos_back(thread):
    message = thread.messages.get()
    with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM messaging_message WHERE id = %s", [message.id])
        _check_references_now()


def test_a_thread_cannot_point_at_a_message_that_does_not_exist(thread):
    with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
        Thread.objects.filter(pk=thread.pk).update(
            last_public_message_id="00000000-0000-0000-0000-000000000000"
        )
        _check_references_now()


def test_a_thread_cannot_name_its_last_message_with_another_time(thread):
    # The look-ups above find the message in its month by the thread's `last_message_at`: the
    # database refuses a thread whose time is not its last public message's.
    with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
        Thread.objects.filter(pk=thread.pk).update(
            last_message_at=F("last_message_at") + timedelta(microseconds=1)
        )
        _check_references_now()


def test_an_attachment_cannot_name_its_message_with_another_time(thread, clinician):
    # A download finds the message by the attachment's pair (id, time): the database refuses a
    # pair that is not a message's key, and a message without its time or a time without one.
    message = thread.messages.get()
    fields = {"uploaded_by": clinician.user, "content_type": "image/png", "size": 1}
    with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
        Attachment.objects.create(
            **fields,
            message=message,
            message_created_at=message.created_at + timedelta(microseconds=1),
            sha256="0" * 64,
            storage_name="late.png",
        )
        _check_references_now()
    for pair in ({"message": message}, {"message_created_at": message.created_at}):
        with (
            pytest.raises(IntegrityError, match="attachment_message_with_its_time"),
            transaction.atomic(),
        ):
            Attachment.objects.create(**fields, **pair, sha256="1" * 64, storage_name="half.png")


def test_a_sent_attachment_keeps_its_messages_time(thread, patient, client_for):
    sender = client_for(patient.user)
    attachment_id = upload(sender, PDF, "labs.pdf", "application/pdf").json()["id"]
    assert send_with(sender, thread, attachment_id).status_code == 201

    _check_references_now()

    attachment = Attachment.objects.select_related("message").get(pk=attachment_id)
    assert attachment.message is not None
    assert attachment.message_created_at == attachment.message.created_at


def test_every_kind_of_message_keeps_a_threads_time_and_last_message_in_step(patient, clinician):
    # The checks are deferred to commit, which a test's transaction never reaches: asked for
    # now, after a thread opened, a reply, an internal note and a patient's answer.
    thread = open_thread(patient)
    services.message_send(actor=clinician.user, thread_id=thread.id, body="A photo, please.")
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Note.", internal=True)
    services.message_send(actor=patient.user, thread_id=thread.id, body="Attached.")

    _check_references_now()

    thread.refresh_from_db()
    last = thread.last_public_message
    assert last is not None and last.body == "Attached."
    assert last.created_at == thread.last_message_at


def test_deleting_a_thread_still_cascades_through_its_messages(thread, clinician):
    message = thread.messages.get()
    Attachment.objects.create(
        uploaded_by=clinician.user,
        message=message,
        message_created_at=message.created_at,
        content_type="image/png",
        size=1,
        sha256="0" * 64,
        storage_name="cascade.png",
    )

    thread.delete()
    _check_references_now()

    assert not Message.objects.filter(pk=message.pk).exists()
    assert not Attachment.objects.filter(storage_name="cascade.png").exists()
