"""Run schemathesis over the whole OpenAPI schema against a live server (shared by the short run
in `tests/common/test_openapi_conformance.py` and the long one in `bench/openapi_fuzz.py`).

Every check schemathesis has is on: status codes, content types, headers and response bodies
must match the schema, invalid input must be refused, valid input accepted, and an operation
that declares auth must refuse a request without it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Role, User
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


# Signing out and changing the password revoke the token the run uses, so they get a pass of
# their own after everything else.
TOKEN_REVOKING = ("/api/v1/auth/logout/", "/api/v1/auth/password/")


def _command(
    *,
    base_url: str,
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
        f"{base_url}/api/schema/",
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
        "--workers",
        "2",
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
    token_revoking: bool = False,
) -> FuzzRun:
    """One run over every operation except the token-revoking ones, or (`token_revoking`)
    over those only."""
    return run_schemathesis_as(
        base_url=base_url,
        users={"user": user},
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
    max_examples: int,
    phases: str,
    seed: int,
    report_dir: Path,
    token_revoking: bool = False,
) -> dict[str, FuzzRun]:
    """The same run as each of `users` (name -> user), each with a token of their own, all at
    once against the same server: the runs spend most of their time waiting on requests, so
    running them side by side takes about as long as the longest alone."""
    processes: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, user in users.items():
        directory = report_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        output = directory / ("revoking.log" if token_revoking else "run.log")
        command = _command(
            base_url=base_url,
            token=account_services.token_issue(user=user),
            max_examples=max_examples,
            phases=phases,
            seed=seed,
            report_dir=directory,
            token_revoking=token_revoking,
        )
        with output.open("wb") as sink:
            processes[name] = (
                subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT),
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
