from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from carecore.accounts.models import Patient, User

pytestmark = pytest.mark.django_db

DEMO = "demo.carecore.test"


def test_it_refuses_to_seed_with_debug_off():
    with override_settings(DEBUG=False), pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_it_seeds_the_demo_clinic_idempotently():
    call_command("seed_demo", force=True)
    users, patients = User.objects.count(), Patient.objects.count()

    call_command("seed_demo", force=True)

    assert (User.objects.count(), Patient.objects.count()) == (users, patients)
    for name in ["clinician", "clinician2", "coordinator", "scheduler", "admin", "patient"]:
        assert User.objects.filter(email=f"{name}@{DEMO}").exists()


def test_the_demo_patient_is_on_the_first_clinicians_team_with_the_coordinator():
    call_command("seed_demo", force=True)

    team = Patient.objects.get(user__email=f"patient@{DEMO}").care_team
    assert team.lead.user.email == f"clinician@{DEMO}"
    assert {m.user.email for m in team.memberships.all()} == {
        f"clinician@{DEMO}",
        f"coordinator@{DEMO}",
    }
    assert sorted(team.lead.licensed_states) == ["CA", "FL", "NY", "TX"]


def test_every_new_york_demo_patient_joins_the_first_clinicians_team():
    call_command("seed_demo", force=True)

    leads = {
        patient.care_team.lead.user.email
        for patient in Patient.objects.filter(state="NY").select_related("care_team__lead__user")
    }
    assert leads == {f"clinician@{DEMO}"}


@pytest.mark.parametrize("name", ["patient", "clinician", "coordinator", "scheduler", "admin"])
def test_demo_accounts_log_in_with_the_demo_password(anon, name):
    call_command("seed_demo", force=True)

    response = anon.post(
        "/api/v1/auth/login/",
        {"email": f"{name}@{DEMO}", "password": "carecore-demo"},
        format="json",
    )

    assert response.status_code == 200


def test_the_demo_patient_has_a_completed_intake_ready_for_a_plan():
    from intake.models import QuestionnaireResponse

    call_command("seed_demo", force=True)
    call_command("seed_demo", force=True)

    responses = QuestionnaireResponse.objects.filter(patient__user__email=f"patient@{DEMO}")
    assert sorted(r.version.questionnaire.slug for r in responses) == ["gut-skin-intake", "poem"]
    assert all(r.status == "completed" for r in responses)
    intake = responses.get(version__questionnaire__slug="gut-skin-intake")
    assert intake.red_flags == []


def test_every_demo_user_has_a_fictional_phone_number_even_when_seeded_before():
    call_command("seed_demo", force=True)
    User.objects.filter(email=f"patient@{DEMO}").update(phone="")
    User.objects.filter(email=f"clinician@{DEMO}").update(phone="+12125550188")

    call_command("seed_demo", force=True)

    phones = dict(User.objects.filter(email__endswith=DEMO).values_list("email", "phone"))
    assert all(phones.values())
    assert all(str(phone).startswith("+1") and "55501" in str(phone) for phone in phones.values())
    assert str(phones[f"patient@{DEMO}"]) == "+12125550110"  # filled in again
    assert str(phones[f"clinician@{DEMO}"]) == "+12125550188"  # a number someone set is kept
