"""`access_thread`'s look-up, compiled once per role (carecore/accounts/access.py: VisibleRows),
answers exactly what the ordinary query answers: for every actor, every way of asking (read or
write, with or without the thread's people), both patients' threads, a missing id, break-glass
grants as they start and expire, and a deactivated account. The suite also has every compiled
run built the ordinary way and compared (CARECORE_VERIFY_COMPILED_QUERIES); the last tests show
that check catching a query the stand-in user cannot build."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from carecore.accounts import services as account_services
from carecore.accounts.access import VisibleRows
from carecore.accounts.models import Role, User
from carecore.common.queries import by_primary_key
from messaging.access import THREAD_PEOPLE, _threads_by_id, access_thread
from messaging.models import Thread

from ..conftest import ACTOR_NAMES

pytestmark = pytest.mark.django_db

WAYS = [
    pytest.param(False, (), id="read"),
    pytest.param(False, THREAD_PEOPLE, id="read-with-people"),
    pytest.param(True, (), id="write"),
    pytest.param(True, THREAD_PEOPLE, id="write-with-people"),
]
GRANT_REASON = "On call tonight and the care team cannot be reached."
# Roles whose look-up is compiled, by way of asking: the rest see no thread that way at all.
COMPILED = {
    False: {Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN},
    True: {Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR},
}


def _found(threads: VisibleRows[Thread], user: User, thread_id) -> tuple[object, ...] | None:
    """What a look-up found, with the people it loaded, comparable across the two ways."""
    row = threads.get(user, thread_id)
    return None if row is None else _shown(row)


def _found_id(threads: VisibleRows[Thread], user: User, thread_id) -> object:
    found = _found(threads, user, thread_id)
    return None if found is None else found[0]


def _ordinary(threads: VisibleRows[Thread], user: User, thread_id) -> tuple[object, ...] | None:
    row = by_primary_key(threads.queryset(user), thread_id)
    return None if row is None else _shown(row)


def _shown(row: Thread) -> tuple[object, ...]:
    loaded = tuple(sorted(row._state.fields_cache))
    return (row.pk, row.patient_id, row.subject, row.assignee_id, loaded)


@pytest.mark.parametrize("for_write, related", WAYS)
@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_the_compiled_look_up_finds_what_the_ordinary_query_finds(
    actors, thread, other_thread, name, for_write, related
):
    user = actors[name]
    threads = _threads_by_id(for_write=for_write, related=related)
    for thread_id in (thread.id, other_thread.id, uuid4()):
        assert _found(threads, user, thread_id) == _ordinary(threads, user, thread_id)
    compiled = threads.compiled_for(user.role, has_patient=user.role == Role.PATIENT)
    assert (compiled is not None) == (user.role in COMPILED[for_write])


def test_a_patient_finds_their_own_thread_and_not_another_patients(patient, thread, other_thread):
    threads = _threads_by_id(for_write=False, related=())
    assert _found_id(threads, patient.user, thread.id) == thread.id
    assert _found(threads, patient.user, other_thread.id) is None


@pytest.mark.parametrize("reader_name", ["other_clinician", "admin"])
def test_a_break_glass_grant_counts_from_its_opening_to_its_expiry(
    clock, actors, patient, thread, reader_name
):
    reader = actors[reader_name]
    threads = _threads_by_id(for_write=False, related=THREAD_PEOPLE)
    assert _found(threads, reader, thread.id) is None  # compiled before any grant
    account_services.break_glass_open(user=reader, patient_id=patient.id, reason=GRANT_REASON)
    assert _found_id(threads, reader, thread.id) == thread.id
    assert _found(_threads_by_id(for_write=True, related=()), reader, thread.id) is None

    clock.shift(timedelta(minutes=settings.CARECORE_BREAK_GLASS_MINUTES, seconds=1))
    assert _found(threads, reader, thread.id) is None
    assert _ordinary(threads, reader, thread.id) is None


def test_a_deactivated_account_finds_nothing(clinician, thread):
    threads = _threads_by_id(for_write=False, related=())
    assert _found(threads, clinician.user, thread.id) is not None
    clinician.user.is_active = False
    assert _found(threads, clinician.user, thread.id) is None


def test_a_page_of_messages_looks_its_thread_up_in_one_query(patient, thread):
    access_thread(user=patient.user, thread_id=thread.id, related=())  # compiled
    with CaptureQueriesContext(connection) as queries:
        found = access_thread(user=patient.user, thread_id=thread.id, related=())
    assert found.pk == thread.pk
    # The thread, then its access event.
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "INSERT"]


def test_the_check_catches_a_query_the_stand_in_user_cannot_build(clinician, thread):
    """The stand-in has the user's id, role and patient row only: a query built from anything
    else (here the e-mail address) compiles for the stand-in into other SQL, and the suite's
    check refuses the run."""
    assert settings.CARECORE_VERIFY_COMPILED_QUERIES
    threads = VisibleRows(
        lambda user, now: Thread.objects.filter(assignee__email=user.email or "nobody")
    )
    with pytest.raises(AssertionError, match="compiled query differs"):
        threads.get(clinician.user, thread.id)


def test_a_locked_look_up_takes_the_thread_row_only_the_ordinary_way(patient, thread):
    threads = _threads_by_id(for_write=True, related=THREAD_PEOPLE)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = threads.get(patient.user, thread.id, lock=True)
    assert found is not None and found.pk == thread.pk
    [query] = queries
    assert query["sql"].endswith('FOR UPDATE OF "messaging_thread"')
