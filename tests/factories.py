"""factory_boy factories. Patients are wired to care teams by the real service, not by hand."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from factory.django import DjangoModelFactory

from carecore.accounts import services
from carecore.accounts.models import Clinician, Patient, Role, User

TEST_PASSWORD = "correct-horse-battery-staple"

_Model = TypeVar("_Model")


class ModelFactory(DjangoModelFactory[_Model]):
    """Calling a factory creates a model row; factory_boy's stubs type the call as the factory."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:

        def __new__(cls, *args: Any, **kwargs: Any) -> _Model:  # type: ignore[misc]  # a row
            ...


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.PATIENT
    timezone = "America/New_York"
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save()


class ClinicianFactory(ModelFactory[Clinician]):
    class Meta:
        model = Clinician

    user = factory.SubFactory(UserFactory, role=Role.CLINICIAN)
    credentials = "MD"
    licensed_states = factory.LazyFunction(lambda: ["NY"])
    specialties = factory.LazyFunction(lambda: ["dermatology"])
    visit_types = factory.LazyFunction(lambda: ["new", "follow_up"])


class PatientFactory(ModelFactory[Patient]):
    """A patient whose care team is assigned by `care_team_assign_new_patient`."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role=Role.PATIENT)
    date_of_birth = date(1990, 5, 17)
    state = "NY"

    @factory.post_generation
    def care_team(obj: Patient, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            services.care_team_assign_new_patient(patient=obj)
