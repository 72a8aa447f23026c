"""Monthly partitions of the growing tables (carecore/common/partitions.py, docs/scaling.md
"Growing tables"), against the suite's real PostgreSQL: month boundaries in UTC, partitions
created ahead (idempotent, with the parent's grants), the default-partition alert, and the
reference triggers that stand in for foreign keys into a partitioned table."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record
from carecore.common import partitions
from carecore.common.tasks import partitions_check_default, partitions_ensure_ahead
from carecore.realtime.models import FeedEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GROWING_TABLES = {
    "audit_auditevent",
    "messaging_message",
    "notifications_notification",
    "realtime_feedevent",
}


def partition_of(table: str, pk: Any) -> str:
    """The partition a row is stored in."""
    sql = f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return cursor.fetchone()[0]


def _acl(table: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(pg_get_userbyid(NULLIF(a.grantee, 0)), 'PUBLIC'), a.privilege_type
            FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = %s::regclass AND a.grantee <> c.relowner
            """,
            [table],
        )
        return set(cursor.fetchall())


def month_boundary() -> datetime:
    """Midnight UTC starting next month, with that month's and the previous one's partitions."""
    next_month = partitions.add_months(partitions.month_start(timezone.now()), 1)
    with connection.cursor() as cursor:
        for table in GROWING_TABLES:
            partitions.create_month_partitions(
                cursor, table, [partitions.add_months(next_month, -1), next_month]
            )
    return datetime(next_month.year, next_month.month, 1, tzinfo=UTC)


@pytest.fixture
def boundary(db: None) -> datetime:
    return month_boundary()


def test_the_growing_tables_are_partitioned_by_month():
    with connection.cursor() as cursor:
        assert set(partitions.partitioned_tables(cursor)) >= GROWING_TABLES


def test_partition_bounds_are_explicit_utc_midnights():
    month = partitions.month_start(timezone.now())
    name = partitions.partition_name("audit_auditevent", month)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s", [name]
        )
        bound = cursor.fetchone()[0]
    following = partitions.add_months(month, 1)
    # Whatever the session's time zone, the bounds are UTC midnights on the 1st.
    assert f"'{month:%Y-%m-%d} 00:00:00+00'" in bound
    assert f"'{following:%Y-%m-%d} 00:00:00+00'" in bound


def test_audit_rows_either_side_of_midnight_utc_land_in_their_months(boundary):
    before = AuditEvent.objects.create(
        occurred_at=boundary - timedelta(seconds=1), object_type="patient", action="read"
    )
    at = AuditEvent.objects.create(occurred_at=boundary, object_type="patient", action="read")

    last_month = partitions.add_months(boundary.date(), -1)
    assert partition_of("audit_auditevent", before.pk) == f"audit_auditevent_p{last_month:%Y_%m}"
    assert partition_of("audit_auditevent", at.pk) == f"audit_auditevent_p{boundary:%Y_%m}"


def test_feed_events_either_side_of_midnight_utc_land_in_their_months(boundary):
    user = UserFactory()
    before, at = FeedEvent.objects.bulk_create(
        [
            FeedEvent(user=user, seq=1, type="thread.updated", at=boundary - timedelta(seconds=1)),
            FeedEvent(user=user, seq=2, type="thread.updated", at=boundary),
        ]
    )

    last_month = partitions.add_months(boundary.date(), -1)
    assert (
        partition_of("realtime_feedevent", before.pk) == f"realtime_feedevent_p{last_month:%Y_%m}"
    )
    assert partition_of("realtime_feedevent", at.pk) == f"realtime_feedevent_p{boundary:%Y_%m}"


def test_it_creates_this_month_and_three_ahead_once():
    # Far enough ahead that the migration has not made them.
    start = partitions.add_months(partitions.month_start(timezone.now()), 9)
    moment = datetime(start.year, start.month, 15, tzinfo=UTC)
    expected_months = [partitions.add_months(start, ahead) for ahead in range(4)]

    created = partitions.ensure_partitions_ahead(now=moment)

    for table in GROWING_TABLES:
        for month in expected_months:
            assert partitions.partition_name(table, month) in created
    assert partitions.ensure_partitions_ahead(now=moment) == []


def test_the_beat_task_keeps_three_months_ahead():
    partitions_ensure_ahead.apply()

    this_month = partitions.month_start(timezone.now())
    with connection.cursor() as cursor:
        for table in GROWING_TABLES:
            for ahead in range(4):
                name = partitions.partition_name(table, partitions.add_months(this_month, ahead))
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
                assert cursor.fetchone()[0], name


def test_new_partitions_get_exactly_their_parents_grants():
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS carecore_partition_test_reader")
        cursor.execute("CREATE ROLE carecore_partition_test_reader NOLOGIN")
        cursor.execute("GRANT SELECT, INSERT ON audit_auditevent TO carecore_partition_test_reader")
        month = partitions.add_months(partitions.month_start(timezone.now()), 12)
        partitions.create_month_partitions(cursor, "audit_auditevent", [month])

        acl = _acl(partitions.partition_name("audit_auditevent", month))
        assert acl == _acl("audit_auditevent")
        assert ("carecore_partition_test_reader", "INSERT") in acl
        assert ("carecore_partition_test_reader", "UPDATE") not in acl
        # Inside the test's transaction: rolled back with the role and its grants.


def test_the_partition_function_refuses_a_plain_table_and_absurd_months():
    with connection.cursor() as cursor:
        with pytest.raises(Exception, match="not a partitioned table"), transaction.atomic():
            cursor.execute("SELECT carecore_month_partition('messaging_thread', '2027-01-01')")
        with pytest.raises(Exception, match="out of range"), transaction.atomic():
            cursor.execute("SELECT carecore_month_partition('audit_auditevent', '2199-01-01')")


def test_the_audit_trail_stays_append_only_in_every_partition(boundary):
    event = AuditEvent.objects.create(occurred_at=boundary, object_type="patient", action="read")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="update")
    partition = f"audit_auditevent_p{boundary:%Y_%m}"
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {partition} WHERE id = %s", [event.pk])  # noqa: S608


def test_a_row_in_a_default_partition_raises_the_alert(caplog):
    # Before 2000: no month partition may exist for it, so it lands in the default partition.
    AuditEvent.objects.create(
        occurred_at=datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        object_type="patient",
        action="read",
    )

    with caplog.at_level(logging.ERROR, logger="carecore.common.partitions"):
        partitions_check_default.apply()

    assert partitions.default_partition_rows() == {"audit_auditevent": 1}
    [alert] = [r for r in caplog.records if r.name == "carecore.common.partitions"]
    assert alert.levelno == logging.ERROR
    assert "audit_auditevent_default" in alert.getMessage()


def test_no_alert_while_the_default_partitions_are_empty(caplog):
    audit_record(actor=None, object_type="patient", object_id="x", action="read")

    with caplog.at_level(logging.ERROR, logger="carecore.common.partitions"):
        assert partitions.check_default_partitions() == {}

    assert not caplog.records


def test_month_arithmetic_crosses_years():
    assert partitions.add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert partitions.add_months(date(2027, 1, 1), -1) == date(2026, 12, 1)
    assert partitions.month_start(datetime(2026, 12, 1, 0, 30, tzinfo=UTC)) == date(2026, 12, 1)


def test_a_month_blocked_by_rows_in_the_default_partition_does_not_stop_the_others(caplog):
    blocked = partitions.add_months(partitions.month_start(timezone.now()), 8)
    moment = datetime(blocked.year, blocked.month, 1, tzinfo=UTC)
    AuditEvent.objects.create(occurred_at=moment, object_type="patient", action="read")

    with caplog.at_level(logging.ERROR, logger="carecore.common.partitions"):
        created = partitions.ensure_partitions_ahead(now=moment)

    assert partitions.partition_name("audit_auditevent", blocked) not in created
    assert partitions.partition_name("messaging_message", blocked) in created
    assert (
        partitions.partition_name("audit_auditevent", partitions.add_months(blocked, 1)) in created
    )
    assert "cannot create audit_auditevent_p" in caplog.text


def test_references_into_partitioned_tables_are_checked_by_functions_of_their_own():
    # Static SQL, whose plans PL/pgSQL keeps; the generic function plans its EXECUTEs per row.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, p.proname, position('EXECUTE' in p.prosrc) > 0 FROM pg_trigger t"
            " JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE t.tgname LIKE %s AND NOT t.tgisinternal",
            ["%\\_exists"],
        )
        checks = {name: (function, dynamic) for name, function, dynamic in cursor.fetchall()}

    assert checks == {
        f"{reference}_exists": (f"carecore_{reference}_exists", False)
        for reference in (
            "messaging_attachment_message_id",
            "messaging_thread_last_public_message_id",
            "notifications_deliveryattempt_notification_id",
        )
    }
