"""Run schemathesis over the whole OpenAPI schema against a live server (shared by the short run
in `tests/common/test_openapi_conformance.py` and the long one in `bench/openapi_fuzz.py`).

Every check schemathesis has is on: status codes, content types, headers and response bodies
must match the schema, invalid input must be refused, valid input accepted, and an operation
that declares auth must refuse a request without it.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Role, User
from carecore.notifications import services as notification_services
from carecore.notifications.models import Channel, Event, Notification
from careplans import services as careplan_services
from intake import services as intake_services
from intake.models import IntakeReview
from messaging import services as messaging_services
from portal import services as portal_services
from tests.factories import ClinicianFactory, PatientFactory, UserFactory

ROLES = ("patient", "clinician", "coordinator", "scheduler", "admin")
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


@dataclass(frozen=True)
class FuzzRun:
    returncode: int
    output: str


def clinic_for_fuzzing() -> dict[str, User]:
    """A small clinic: a patient on a clinician's team (with a coordinator), a scheduler and an
    admin, the clinician available every day. Returns one user per role."""
    coordinator = UserFactory(role=Role.COORDINATOR, email="fuzz-coordinator@example.test")
    clinician: Clinician = ClinicianFactory(
        user__email="fuzz-clinician@example.test", licensed_states=["NY"]
    )
    clinician.coordinators.set([coordinator])
    patient = PatientFactory(user__email="fuzz-patient@example.test", state="NY")
    portal_services.availability_weekly_ensure(
        actor=None,
        clinician=clinician,
        weekdays=range(7),
        start_time=time(0, 0),
        end_time=time(23, 45),
    )
    return {
        "patient": patient.user,
        "clinician": clinician.user,
        "coordinator": coordinator,
        "scheduler": UserFactory(role=Role.SCHEDULER, email="fuzz-scheduler@example.test"),
        "admin": UserFactory(role=Role.ADMIN, email="fuzz-admin@example.test"),
    }


def objects_for_fuzzing(users: dict[str, User]) -> dict[str, dict[str, str]]:
    """One real object of each kind in the clinic of `clinic_for_fuzzing`, so that operations
    with an id in their path reach their logic (and their 200 answers get checked against the
    schema) instead of stopping at 404. Returns, per role, the value of each path parameter
    (`tests/schemathesis.toml` reads them from CARECORE_FUZZ_<NAME> in the environment): the
    clinic's objects for everyone, and each user's own notification and push subscription."""
    patient_user, clinician_user = users["patient"], users["clinician"]
    patient, clinician = patient_user.patient, clinician_user.clinician
    call_command("sync_questionnaires", verbosity=0)
    # An earlier intake, so the review's `changes_since_previous` has a changed answer and a
    # new one (`before` null) for the responses' checks.
    earlier = _healthy_intake() | {"stress-level": 7}
    del earlier["skin-concerns"]
    intake_services.response_create(
        user=patient_user, slug="gut-skin-intake", answers=earlier, status="completed"
    )
    intake = intake_services.response_create(
        user=patient_user, slug="gut-skin-intake", answers=_healthy_intake(), status="completed"
    )
    poem = intake_services.response_create(
        user=patient_user, slug="poem", answers={"poem-1": 2}, status="in_progress"
    )
    plan = careplan_services.care_plan_draft(user=clinician_user, patient_id=patient.id)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    appointment = portal_services.appointment_book(
        actor=patient_user,
        patient_id=patient.id,
        clinician_id=clinician.id,
        start=start,
        visit_type="new",
        reason="Itchy rash on both elbows",
    )
    opened = messaging_services.thread_open(
        actor=patient_user, subject="Flare on my arms", category="clinical", body="It itches."
    )
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 90)).save(photo, format="PNG")
    attachment = messaging_services.attachment_upload(
        actor=patient_user,
        upload=SimpleUploadedFile("rash.png", photo.getvalue(), content_type="image/png"),
    )
    messaging_services.message_send(
        actor=patient_user,
        thread_id=opened.thread.id,
        body="A photo of the rash",
        attachment_ids=[attachment.id],
    )
    rule = portal_services.availability_rule_create(
        actor=None,
        clinician=clinician,
        weekday=(start.weekday() + 1) % 7,
        start_time=time(1, 0),
        end_time=time(2, 0),
        visit_types=["new"],
    )
    time_off = portal_services.time_off_create(
        actor=None,
        clinician=clinician,
        starts_at=start + timedelta(days=20),
        ends_at=start + timedelta(days=21),
    )
    shared = {
        "patient_id": str(patient.id),
        "clinician_id": str(clinician.id),
        "rule_id": str(rule.id),
        "time_off_id": str(time_off.id),
        "appointment_id": str(appointment.id),
        "response_id": str(poem.id),
        "review_id": str(IntakeReview.objects.get(response=intake).id),
        "plan_id": str(plan.id),
        "thread_id": str(opened.thread.id),
        "attachment_id": str(attachment.id),
    }
    return {role: shared | _own_objects(user) for role, user in users.items()}


def _own_objects(user: User) -> dict[str, str]:
    notification_services.notify(
        event=Event.MESSAGE_RECEIVED,
        recipients=[user],
        subject_type="thread",
        subject_id=user.pk,
    )
    notification = Notification.objects.filter(recipient=user, channel=Channel.IN_APP).latest(
        "created_at"
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    subscription = notification_services.push_subscription_register(
        user=user,
        endpoint=f"https://fcm.googleapis.com/fcm/send/{user.pk}",
        p256dh=b64(b"\x04" + bytes(range(64))),
        auth=b64(bytes(range(16))),
    )
    return {"notification_id": str(notification.id), "subscription_id": str(subscription.id)}


def _healthy_intake() -> dict[str, object]:
    from tests.intake.test_intake_apis import healthy_intake

    return dict(healthy_intake())


# Signing out and changing the password revoke the token the run uses, so they get a pass of
# their own after everything else.
TOKEN_REVOKING = ("/api/v1/auth/logout/", "/api/v1/auth/password/")


def _command(
    *,
    base_url: str,
    schema_file: Path,
    token: str,
    max_examples: int,
    phases: str,
    seed: int,
    report_dir: Path,
    token_revoking: bool,
) -> list[str]:
    flag = "--include-path" if token_revoking else "--exclude-path"
    selection = [argument for path in TOKEN_REVOKING for argument in (flag, path)]
    return [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        str(schema_file),
        "--url",
        base_url,
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(max_examples),
        "--phases",
        phases,
        "--seed",
        str(seed),
        # One thread per run: the runs already go side by side as processes, and two threads
        # in one run race in CPython 3.11's AST constructor (its recursion depth is shared
        # interpreter state, gh-106905) when hypothesis parses lambdas to describe them: a
        # "SystemError: AST constructor recursion depth mismatch" that fails the run at random.
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        "--no-color",
        *selection,
    ]


def run_schemathesis(
    *,
    base_url: str,
    user: User,
    max_examples: int,
    phases: str,
    seed: int,
    report_dir: Path,
    parameters: dict[str, str],
    token_revoking: bool = False,
) -> FuzzRun:
    """One run over every operation except the token-revoking ones, or (`token_revoking`)
    over those only."""
    return run_schemathesis_as(
        base_url=base_url,
        users={"user": user},
        parameters={"user": parameters},
        max_examples=max_examples,
        phases=phases,
        seed=seed,
        report_dir=report_dir,
        token_revoking=token_revoking,
    )["user"]


def run_schemathesis_as(
    *,
    base_url: str,
    users: dict[str, User],
    parameters: dict[str, dict[str, str]],
    max_examples: int,
    phases: str,
    seed: int,
    report_dir: Path,
    token_revoking: bool = False,
) -> dict[str, FuzzRun]:
    """The same run as each of `users` (name -> user), each with a token of their own, all at
    once against the same server: the runs spend most of their time waiting on requests, so
    running them side by side takes about as long as the longest alone. `parameters` gives
    each user's path parameters (`objects_for_fuzzing`)."""
    # Fetched once and handed to every run as a file: five runs loading it at once from a busy
    # server would wait on one another within schemathesis's 10 s schema-loading timeout.
    schema_file = report_dir / "schema.json"
    schema_url = f"{base_url}/api/schema/?format=json"  # a live server of ours, over http
    with urllib.request.urlopen(schema_url, timeout=300) as response:  # noqa: S310
        schema_file.write_bytes(response.read())
    processes: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, user in users.items():
        directory = report_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        output = directory / ("revoking.log" if token_revoking else "run.log")
        command = _command(
            base_url=base_url,
            schema_file=schema_file,
            token=account_services.token_issue(user=user),
            max_examples=max_examples,
            phases=phases,
            seed=seed,
            report_dir=directory,
            token_revoking=token_revoking,
        )
        with output.open("wb") as sink:
            processes[name] = (
                subprocess.Popen(
                    command,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env=os.environ
                    | {f"CARECORE_FUZZ_{k.upper()}": v for k, v in parameters[name].items()},
                ),
                output,
            )
    runs: dict[str, FuzzRun] = {}
    for name, (process, output) in processes.items():
        try:
            returncode = process.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
        runs[name] = FuzzRun(returncode, output.read_text(errors="replace"))
    return runs
