"""Fixed test actors (Healthchecks style) and API clients that authenticate with real tokens.

patient          NY patient on `clinician`'s team (with `coordinator`)
other_patient    WA patient on `other_clinician`'s team
clinician        lead clinician licensed in NY
other_clinician  lead of another care team, licensed in WA only
coordinator      coordinator on `clinician`'s team
scheduler        front-desk scheduler
admin            operations admin
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from carecore.accounts import services
from carecore.accounts.models import Clinician, Patient, Role, User
from carecore.celery import app
from carecore.common.throttling import counter as throttle_counter
from carecore.notifications.sms import LocmemSmsBackend, SmsMessage

from .factories import ClinicianFactory, PatientFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # Throttle counters live in Redis (or in this process while it is down); each test starts
    # from zero.
    cache.clear()
    throttle_counter.reset_local()
    yield


@pytest.fixture
def coordinator(db: None) -> User:
    return UserFactory(role=Role.COORDINATOR, email="coordinator@example.test")


@pytest.fixture
def clinician(db: None, coordinator: User) -> Clinician:
    clinician = ClinicianFactory(user__email="clinician@example.test", licensed_states=["NY", "NJ"])
    clinician.coordinators.set([coordinator])
    return clinician


@pytest.fixture
def other_clinician(db: None) -> Clinician:
    return ClinicianFactory(user__email="other-clinician@example.test", licensed_states=["WA"])


@pytest.fixture
def patient(clinician: Clinician) -> Patient:
    # A name no fake clinician can carry: tests assert the patient's name is absent from what
    # others see, and a random surname once matched the clinician's ("with Jodi Robertson").
    return PatientFactory(
        user__email="patient@example.test",
        user__first_name="Marisol",
        user__last_name="Quenneville",
        state="NY",
    )


@pytest.fixture
def other_patient(other_clinician: Clinician) -> Patient:
    return PatientFactory(
        user__email="other-patient@example.test",
        user__first_name="Tobiah",
        user__last_name="Vandermolen",
        state="WA",
        user__timezone="America/Los_Angeles",
    )


@pytest.fixture
def scheduler(db: None) -> User:
    return UserFactory(role=Role.SCHEDULER, email="scheduler@example.test", is_staff=True)


@pytest.fixture
def admin_user(db: None) -> User:
    return UserFactory(role=Role.ADMIN, email="admin@example.test", is_staff=True)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    """An API client signed in as `user` with a real bearer token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.token_issue(user=user)}")
        return client

    return make


# The names of `actors`, for tests parametrized over every fixed actor.
ACTOR_NAMES = (
    "patient",
    "other_patient",
    "clinician",
    "other_clinician",
    "coordinator",
    "scheduler",
    "admin",
)


@pytest.fixture
def actors(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    coordinator: User,
    scheduler: User,
    admin_user: User,
) -> dict[str, User]:
    """Every fixed actor by name, for tests that walk all roles."""
    return {
        "patient": patient.user,
        "other_patient": other_patient.user,
        "clinician": clinician.user,
        "other_clinician": other_clinician.user,
        "coordinator": coordinator,
        "scheduler": scheduler,
        "admin": admin_user,
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps an event loop running in the main
    thread from the first browser test to the end of the session (its fixtures are session
    scoped), and pytest-asyncio cannot start a test's loop while another one runs."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def questionnaires(db: None) -> None:
    """The published questionnaire definitions (intake/definitions/), as `make run` loads them."""
    call_command("sync_questionnaires", verbosity=0)


@pytest.fixture
def sms_outbox() -> Iterator[list[SmsMessage]]:
    """The text messages sent in this test (the test settings' in-memory SMS backend)."""
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks published on commit run inline, through the real services (in-process tests; the
    worker tests start a real worker instead)."""
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


# The data migrations that make the staff admin groups and grant their permissions.
STAFF_GROUP_MIGRATIONS = [
    ("accounts", "0002_staff_admin_groups"),
    ("audit", "0003_admin_audit_permissions"),
    ("notifications", "0002_admin_outbox_permissions"),
    ("portal", "0003_scheduler_admin_permissions"),
]


@pytest.fixture
def staff_groups(transactional_db: None) -> None:
    """The staff admin groups, for transactional tests that create staff (seed_demo).

    An earlier transactional test's flush empties every table, and Django's post-flush signal
    brings back content types and permissions but not rows that data migrations made; this
    re-runs those migrations' steps, against each migration's own model state, as `migrate` did.
    """
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython

    loader = MigrationLoader(connection)
    for key in STAFF_GROUP_MIGRATIONS:
        state = loader.project_state(key)
        with connection.schema_editor() as editor:
            for operation in loader.get_migration(*key).operations:
                assert isinstance(operation, RunPython)
                operation.code(state.apps, editor)
