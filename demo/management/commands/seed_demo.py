"""Demo clinic for `make run`: the accounts in PRODUCT.md plus realistic extra patients.

Idempotent (existing accounts are left as they are) and refuses to run with DEBUG off unless
--force is given, so demo passwords never reach a production database by accident.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from carecore.accounts import services
from carecore.accounts.models import Clinician, Patient, Role, User
from intake import services as intake_services
from intake.models import QuestionnaireResponse, ResponseStatus
from portal import services as portal_services

DEMO_PASSWORD = "carecore-demo"
DOMAIN = "demo.carecore.test"

STAFF = [
    # email local part, first, last, role, time zone
    ("coordinator", "Maya", "Okafor", Role.COORDINATOR, "America/New_York"),
    ("scheduler", "Luis", "Ortega", Role.SCHEDULER, "America/New_York"),
    ("admin", "Priya", "Raman", Role.ADMIN, "America/New_York"),
    ("clinician", "Hannah", "Lindqvist", Role.CLINICIAN, "America/New_York"),
    ("clinician2", "Daniel", "Whitford", Role.CLINICIAN, "America/Los_Angeles"),
    ("clinician3", "Amara", "Castillo", Role.CLINICIAN, "America/Chicago"),
]

CLINICIANS: dict[str, dict[str, Any]] = {
    "clinician": {
        "credentials": "MD",
        "licensed_states": ["NY", "CA", "TX", "FL"],
        "specialties": ["dermatology", "eczema", "psoriasis"],
        "bio": "Board-certified dermatologist focused on the gut-skin axis.",
        "is_clinical_lead": True,
        "coordinators": ["coordinator"],
    },
    "clinician2": {
        "credentials": "NP",
        "licensed_states": ["WA", "OR"],
        "specialties": ["gastroenterology", "ibs"],
        "bio": "Nurse practitioner for IBS and digestive health.",
        "is_clinical_lead": False,
        "coordinators": [],
    },
    "clinician3": {
        # Not licensed in NY: every new NY patient joins clinician@'s team.
        "credentials": "PA",
        "licensed_states": ["CA", "TX", "AZ"],
        "specialties": ["acne", "rosacea"],
        "bio": "Physician assistant for acne and rosacea care.",
        "is_clinical_lead": False,
        "coordinators": [],
    },
}

# Weekly availability in each clinician's own zone (weekday 0 = Monday).
AVAILABILITY = [
    ("clinician", range(7), time(8), time(20)),
    ("clinician2", range(7), time(8), time(20)),
    ("clinician3", range(5), time(9), time(17)),
]

PATIENTS = [
    # email local part, first, last, date of birth, state, time zone
    ("patient", "Jordan", "Reyes", date(1991, 4, 12), "NY", "America/New_York"),
    ("amelia.chen", "Amelia", "Chen", date(1987, 9, 3), "NY", "America/New_York"),
    ("marcus.bell", "Marcus", "Bell", date(1979, 1, 28), "FL", "America/New_York"),
    ("sofia.martins", "Sofia", "Martins", date(1995, 6, 17), "CA", "America/Los_Angeles"),
    ("noah.fischer", "Noah", "Fischer", date(2001, 11, 2), "TX", "America/Chicago"),
    ("grace.kim", "Grace", "Kim", date(1968, 3, 22), "WA", "America/Los_Angeles"),
    ("owen.brooks", "Owen", "Brooks", date(1983, 8, 9), "OR", "America/Los_Angeles"),
    ("leila.haddad", "Leila", "Haddad", date(1999, 12, 30), "NY", "America/New_York"),
]

# Fictional numbers (555-0100 to 555-0199 are reserved for fiction in North America), so the
# local SMS backend writes what each text would say to var/sms/.
PHONES = {
    "clinician": "+12125550101",
    "clinician2": "+12065550102",
    "clinician3": "+13125550103",
    "coordinator": "+12125550104",
    "scheduler": "+12125550105",
    "admin": "+12125550106",
    "patient": "+12125550110",
    "amelia.chen": "+12125550111",
    "marcus.bell": "+13055550112",
    "sofia.martins": "+14155550113",
    "noah.fischer": "+15125550114",
    "grace.kim": "+12065550115",
    "owen.brooks": "+15035550116",
    "leila.haddad": "+17185550117",
}


# patient@'s completed intake: eczema with a low-fibre diet, short sleep and high stress, no red
# flags, so a clinician can draft and publish a plan straight away in the demo.
DEMO_PATIENT_INTAKE = {
    "skin-concerns": ["eczema", "dryness"],
    "skin-self-rating": 4,
    "stool-type": 3,
    "gut-symptoms": True,
    "gut-symptoms-new": False,
    "symptom-onset-age": 24,
    "fibre-servings-daily": 2,
    "fermented-foods-weekly": 1,
    "added-sugar-daily": 3,
    "processed-foods-weekly": 4,
    "dairy-reaction": True,
    "gluten-reaction": False,
    "alcohol-drinks-weekly": 4,
    "caffeine-drinks-daily": 2,
    "water-glasses-daily": 5,
    "sleep-hours-nightly": 6,
    "exercise-minutes-weekly": 90,
    "stress-level": 7,
    "antibiotics-last-3-months": False,
    "probiotic-use": False,
    **dict.fromkeys(
        [
            "rf-rectal-bleeding",
            "rf-weight-loss",
            "rf-nocturnal-symptoms",
            "rf-family-history-gi",
            "rf-family-history-ovarian",
            "rf-iron-deficiency-anaemia",
            "rf-bowel-habit-change",
            "rf-fever",
            "rf-trouble-swallowing",
            "rf-persistent-vomiting",
            "rf-angioedema",
            "rf-mucosal-sores",
            "rf-eczema-spreading-blisters",
            "rf-eczema-infected",
            "rf-widespread-redness",
            "rf-rosacea-eye-symptoms",
            "rf-self-harm-thoughts",
        ],
        False,
    ),
}
DEMO_PATIENT_POEM = {f"poem-{n}": score for n, score in enumerate([3, 2, 2, 1, 2, 1, 1], start=1)}


class Command(BaseCommand):
    help = "Create the demo clinic (idempotent). Refuses with DEBUG off unless --force."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Seed even though DEBUG is off (never in prod)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("DEBUG is off: refusing to create demo accounts. Use --force.")
        with transaction.atomic():
            created = self._seed_staff() + self._seed_patients()
            self._seed_phones()
            self._seed_availability()
            self._seed_intake()
        self.stdout.write(f"seed_demo: {created} account(s) created; existing ones left as is.")

    def _seed_staff(self) -> int:
        created = 0
        users: dict[str, User] = {}
        for local, first, last, role, zone in STAFF:
            user = User.objects.filter(email=f"{local}@{DOMAIN}").first()
            if user is None:
                user = services.staff_user_create(
                    actor=None,
                    email=f"{local}@{DOMAIN}",
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    role=role,
                    timezone_name=zone,
                    # The shared demo password resembles the demo emails; it is demo-only.
                    enforce_password_policy=False,
                )
                created += 1
            users[local] = user
        for local, profile in CLINICIANS.items():
            if Clinician.objects.filter(user=users[local]).exists():
                continue
            services.clinician_profile_save(
                user=users[local],
                credentials=profile["credentials"],
                licensed_states=profile["licensed_states"],
                specialties=profile["specialties"],
                bio=profile["bio"],
                is_clinical_lead=profile["is_clinical_lead"],
                coordinators=[users[name] for name in profile["coordinators"]],
            )
        return created

    def _seed_patients(self) -> int:
        created = 0
        for local, first, last, born, state, zone in PATIENTS:
            if Patient.objects.filter(user__email=f"{local}@{DOMAIN}").exists():
                continue
            services.patient_register(
                email=f"{local}@{DOMAIN}",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                date_of_birth=born,
                state=state,
                timezone_name=zone,
                enforce_password_policy=False,
            )
            created += 1
        return created

    def _seed_phones(self) -> None:
        """Also for demo users seeded before they had numbers; a number someone set is kept."""
        for local, phone in PHONES.items():
            User.objects.filter(email=f"{local}@{DOMAIN}", phone="").update(phone=phone)

    def _seed_availability(self) -> None:
        for local, weekdays, start, end in AVAILABILITY:
            clinician = Clinician.objects.get(user__email=f"{local}@{DOMAIN}")
            portal_services.availability_weekly_ensure(
                actor=None, clinician=clinician, weekdays=weekdays, start_time=start, end_time=end
            )

    def _seed_intake(self) -> None:
        """patient@ has completed the gut-skin intake and a POEM (once)."""
        call_command("sync_questionnaires", verbosity=0)
        patient = Patient.objects.select_related("user").get(user__email=f"patient@{DOMAIN}")
        if QuestionnaireResponse.objects.filter(
            patient=patient, status=ResponseStatus.COMPLETED
        ).exists():
            return
        for slug, answers in (
            ("poem", DEMO_PATIENT_POEM),
            ("gut-skin-intake", DEMO_PATIENT_INTAKE),
        ):
            intake_services.response_create(
                user=patient.user, slug=slug, answers=answers, status=ResponseStatus.COMPLETED
            )
