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
from rest_framework.test import APIClient

from carecore.accounts import services
from carecore.accounts.models import Clinician, Patient, Role, User

from .factories import ClinicianFactory, PatientFactory, UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # Throttle counters live in Redis; each test starts from zero.
    cache.clear()
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
    return PatientFactory(user__email="patient@example.test", state="NY")


@pytest.fixture
def other_patient(other_clinician: Clinician) -> Patient:
    return PatientFactory(
        user__email="other-patient@example.test",
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
