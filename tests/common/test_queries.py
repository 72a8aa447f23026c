"""by_primary_key: one row by its key, without the ORDER BY `.first()` adds; which queries are
prepared on their connection and which are planned on every run."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.models import F
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from carecore.accounts.models import BreakGlassGrant, User
from carecore.accounts.services import token_issue
from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record
from carecore.common.queries import CompiledOnce, by_primary_key
from messaging.models import Message, Thread
from messaging.services import thread_open

from ..factories import UserFactory
from ..patient_web.conftest import sign_in as patient_sign_in
from ..staff_web.conftest import sign_in as staff_sign_in

pytestmark = pytest.mark.django_db


def test_it_finds_the_row_by_its_key_within_the_queryset(django_assert_num_queries):
    user = UserFactory()
    UserFactory()

    with django_assert_num_queries(1) as context:
        assert by_primary_key(User.objects.all(), user.pk) == user

    assert "ORDER BY" not in context.captured_queries[0]["sql"]
    assert by_primary_key(User.objects.filter(is_active=False), user.pk) is None
    assert by_primary_key(User.objects.order_by("-email"), uuid.uuid4()) is None


def test_a_query_run_often_is_prepared_on_its_connection():
    """Parameters are bound by the server (settings: `server_side_binding`), so a query's text
    is the same on every run and psycopg prepares it after five runs: PostgreSQL then plans it
    once per connection instead of on every run (docs/benchmarks.md)."""

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%prepared_check%"],
            )
            return int(cursor.fetchone()[0])

    assert prepared() == 0
    for number in range(6):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int AS prepared_check", [number])
            assert cursor.fetchone() == (number,)
    assert prepared() == 1


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_list_page_is_planned_for_its_parameters_on_every_run(patient, client_for):
    """A list's page is never prepared (audit.lists: `planned_on_every_run`): a generic plan of
    "a thread's messages in order, the first 51" reads and sorts the whole thread. The key
    look-ups around it (the bearer token's) are prepared."""
    thread = thread_open(
        actor=patient.user, subject="Flare", category="clinical", body="Itchy again."
    ).thread
    client = client_for(patient.user)

    for _ in range(7):
        assert client.get(f"/api/v1/threads/{thread.id}/messages/").status_code == 200

    prepared = _prepared_statements()
    assert any('FROM "knox_authtoken"' in statement for statement in prepared)
    assert not any('FROM "messaging_message"' in statement for statement in prepared)


def _page_statements_prepared(table: str) -> list[str]:
    """Prepared statements that read a page of `table` (a LIMIT of the whole statement, not of
    a subquery such as the paginator's count's EXISTS)."""
    return [
        statement
        for statement in _prepared_statements()
        if f'FROM "{table}"' in statement and re.search(r"LIMIT \S+( OFFSET \S+)?$", statement)
    ]


def _signed_in(sign_in: Callable[[Client, User], None], user: User) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def test_the_portals_paginated_lists_are_planned_for_their_parameters_on_every_run(
    patient, clinician
):
    """The pages that cut their rows with Django's Paginator (the patient's and the care team's
    thread lists, the review queue) read the page through `audited_page`, so they too are never
    prepared. The thread lists are "one patient's (or a team's) threads, latest first": the
    shape whose generic plan reads and sorts the whole group."""
    for number in range(3):
        thread_open(
            actor=patient.user, subject=f"Flare {number}", category="clinical", body="Itchy."
        )
    pages = [
        (_signed_in(patient_sign_in, patient.user), "/messages/", "messaging_thread"),
        (_signed_in(staff_sign_in, clinician.user), "/staff/", "messaging_thread"),
        (_signed_in(staff_sign_in, clinician.user), "/staff/reviews/", "intake_intakereview"),
    ]
    for client, path, table in pages:
        for _ in range(7):
            assert client.get(path).status_code == 200
        assert _page_statements_prepared(table) == [], path


def test_any_of_matches_what_in_matches_with_one_array_parameter(
    patient, other_patient, django_assert_num_queries
):
    """`column__any=values` (carecore/common/queries.py) keeps the rows `column__in` keeps, and
    sends the values as one array: the statement's text and parameter count stay the same for
    any number of values (psycopg converts a statement of at most 50 parameters once)."""
    for owner in (patient, other_patient):
        thread_open(actor=owner.user, subject="Flare", category="clinical", body="Itchy.")
    for wanted in ([patient.id], [patient.id, other_patient.id], [], [uuid.uuid4()] * 60):
        expected = set(Thread.objects.filter(patient_id__in=wanted).values_list("id", flat=True))
        with django_assert_num_queries(1) as context:
            found = set(Thread.objects.filter(patient_id__any=wanted).values_list("id", flat=True))
        assert found == expected
        sql = context.captured_queries[0]["sql"]
        assert '"messaging_thread"."patient_id" = ANY(' in sql
    assert Thread.objects.filter(patient_id__any=[str(patient.id)]).count() == 1
    # The only parameter is the array, whatever its length.
    compiled, params = Thread.objects.filter(
        patient_id__any=[patient.id] * 60
    ).query.sql_with_params()
    assert compiled.count("%s") == 1
    assert params == ([patient.id] * 60,)


def _tokens_of(token_key: str):
    return AuthToken.objects.filter(token_key=token_key).select_related("user", "user__patient")


def test_a_query_compiled_once_reads_what_the_queryset_reads(patient, clinician):
    compiled = CompiledOnce(_tokens_of, token_key=str)
    for user in (patient.user, clinician.user, patient.user):
        token_issue(user=user)
    for user in (patient.user, clinician.user):
        key = AuthToken.objects.filter(user=user).values_list("token_key", flat=True)[0]
        expected = list(_tokens_of(key))
        found = compiled.run(token_key=key)
        assert [token.pk for token in found] == [token.pk for token in expected]
        assert {token.user for token in found} == {user}

    assert compiled.run(token_key="no-such-key") == []
    assert list(compiled._compiled) == ["default"]  # compiled once, whatever the values


def test_the_rows_come_with_what_select_related_names(patient, django_assert_num_queries):
    token_issue(user=patient.user)
    key = AuthToken.objects.get(user=patient.user).token_key
    compiled = CompiledOnce(_tokens_of, token_key=str)

    with django_assert_num_queries(1):
        [token] = compiled.run(token_key=key)
        assert token.user.patient == patient
        assert token.user.email == patient.user.email


def test_a_value_must_be_given_and_not_none():
    compiled = CompiledOnce(_tokens_of, token_key=str)
    with pytest.raises(ValueError, match="token_key"):
        compiled.run()
    with pytest.raises(ValueError, match="token_key"):
        compiled.run(token_key=None)


def test_a_value_that_does_not_reach_the_sql_unchanged_is_refused():
    compiled = CompiledOnce(lambda token_key: _tokens_of(token_key[:8]), token_key=str)
    with pytest.raises(ValueError, match="unchanged"):
        compiled.run(token_key="abcdefghijk")


def test_a_query_whose_sql_changes_with_its_values_fails_in_the_suite(settings):
    """settings.CARECORE_VERIFY_COMPILED_QUERIES (on in the tests) compiles every run afresh."""
    compiled = CompiledOnce(
        lambda token_key: (
            _tokens_of(token_key)
            if token_key.startswith("stand-in")
            else _tokens_of(token_key).order_by("-created")
        ),
        token_key=str,
    )
    with pytest.raises(AssertionError, match="changed"):
        compiled.run(token_key="another-key")
    settings.CARECORE_VERIFY_COMPILED_QUERIES = False
    assert compiled.run(token_key="another-key") == []


@pytest.mark.django_db(transaction=True)
def test_each_thread_runs_it_on_its_own_connection(patient):
    """Django's connections belong to a thread: a run in another thread than the one that
    compiled the query uses that thread's connection."""
    token_issue(user=patient.user)
    key = AuthToken.objects.get(user=patient.user).token_key
    compiled = CompiledOnce(_tokens_of, token_key=str)
    assert len(compiled.run(token_key=key)) == 1

    with ThreadPoolExecutor(max_workers=1) as pool:
        found = pool.submit(lambda: _run_and_close(compiled, key)).result()

    assert found == 1


def _run_and_close(compiled: CompiledOnce[AuthToken], key: str) -> int:
    try:
        return len(compiled.run(token_key=key))
    finally:
        connection.close()


def test_only_values_with_a_stand_in_are_taken():
    with pytest.raises(TypeError, match="str, int, UUID, datetime and list"):
        CompiledOnce(_tokens_of, token_key=bytes)


def _expiring_grants(user_id: uuid.UUID, now: datetime.datetime):
    return BreakGlassGrant.objects.filter(user_id=user_id, expires_at__gt=now).values_list(
        "patient_id", flat=True
    )


def test_flat_values_and_instants_are_read_too(admin_user, patient, other_patient):
    now = timezone.now()
    for owner, expires_at in ((patient, now + timedelta(hours=1)), (other_patient, now)):
        BreakGlassGrant.objects.create(
            user=admin_user,
            patient=owner,
            reason="Emergency review of a flagged message",
            created_at=now - timedelta(hours=1),
            expires_at=expires_at,
        )
    compiled = CompiledOnce(_expiring_grants, user_id=uuid.UUID, now=datetime.datetime)

    assert compiled.run(user_id=admin_user.id, now=now) == [patient.id]
    assert compiled.run(user_id=admin_user.id, now=now - timedelta(minutes=1)) == list(
        _expiring_grants(admin_user.id, now - timedelta(minutes=1))
    )


def test_rows_read_any_other_way_are_refused():
    compiled = CompiledOnce(
        lambda token_key: _tokens_of(token_key).values_list("digest", "user_id"), token_key=str
    )
    with pytest.raises(TypeError, match="flat=True"):
        compiled.run(token_key="key")


def _threads_of(patient_ids: list[uuid.UUID]):
    return Thread.objects.filter(patient_id__any=patient_ids).values(
        "id", "subject", patient_name=F("patient__user__last_name")
    )


def test_values_rows_and_a_list_sent_as_one_array_are_read_too(
    patient, other_patient, django_assert_num_queries
):
    """A list is a value when it reaches the SQL as one array parameter (`__any`); `values()`
    rows come back as the queryset's dicts, named as it names them."""
    for owner in (patient, other_patient):
        thread_open(actor=owner.user, subject=f"For {owner.id}", category="clinical", body="Hi.")
    compiled = CompiledOnce(_threads_of, patient_ids=list)

    for patient_ids in ([patient.id], [patient.id, other_patient.id], []):
        with django_assert_num_queries(1):
            rows = compiled.run(patient_ids=patient_ids)
        expected = list(_threads_of(patient_ids))
        assert sorted(rows, key=str) == sorted(expected, key=str)
        assert len(rows) == len(patient_ids)
    [row] = compiled.run(patient_ids=[patient.id])
    assert set(row) == {"id", "subject", "patient_name"}


def test_a_value_is_bound_as_django_binds_it(patient):
    """Django sends an integer column's value as psycopg's `Int4`; so does each run."""
    compiled = CompiledOnce(
        lambda position: Message.objects.filter(position__gt=position).values_list("id", flat=True),
        position=int,
    )
    bound = compiled.compiler("default", {"position": 7}).as_sql()[1]
    fresh = Message.objects.filter(position__gt=7).query.get_compiler("default").as_sql()[1]
    assert [(type(param), param) for param in bound] == [(type(param), param) for param in fresh]
    assert compiled.run(position=0) == []


def test_a_list_given_to_in_is_refused():
    """`__in` sends one parameter per item: the SQL would change with the list's length."""
    compiled = CompiledOnce(
        lambda patient_ids: Thread.objects.filter(patient_id__in=patient_ids).values("id"),
        patient_ids=list,
    )
    with pytest.raises(ValueError, match="unchanged"):
        compiled.run(patient_ids=[uuid.uuid4()])


def _details_of(object_type: str):
    return AuditEvent.objects.filter(object_type=object_type).values_list("detail", flat=True)


@pytest.mark.django_db(transaction=True)
def test_values_are_converted_as_django_converts_them_with_converters_found_once(patient):
    """A JSON column's text becomes Python as the queryset makes it; which converters a compiled
    query's columns need is found on each connection's first run and kept for the next (the
    suite also finds them afresh on every run and compares)."""
    audit_record(actor=patient.user, object_type="converter-test", detail={"shown": [1, 2]})
    compiled = CompiledOnce(_details_of, object_type=str)

    assert compiled.run(object_type="converter-test") == [{"shown": [1, 2]}]
    assert compiled.run(object_type="converter-test") == list(_details_of("converter-test"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_another_thread = pool.submit(
            lambda: _run_details_and_close(compiled, "converter-test")
        ).result()
    assert in_another_thread == [{"shown": [1, 2]}]

    kept = compiled.compiled("default").converters
    assert kept[connections["default"]]  # this thread's connection: the JSON column's converters
    assert len(kept) in (1, 2)  # the other thread's, unless its connection is gone already


def _run_details_and_close(compiled: CompiledOnce[object], object_type: str) -> list[object]:
    try:
        return compiled.run(object_type=object_type)
    finally:
        connection.close()
