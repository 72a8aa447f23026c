"""The escalation ladder's pure part (carecore/clinical/escalation.py), shared by messaging's
overdue threads and intake's unanswered red-flag pages."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from carecore.clinical.escalation import LAST_STEP, LadderStep, step_occurrence, steps_due

DUE = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
GAP = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("minutes_after_due", "steps"),
    [(-1, []), (0, [1]), (9, [1]), (10, [1, 2]), (19, [1, 2]), (20, [1, 2, 3]), (600, [1, 2, 3])],
)
def test_each_step_is_due_one_gap_after_the_last(minutes_after_due: int, steps: list[int]) -> None:
    now = DUE + timedelta(minutes=minutes_after_due)
    assert steps_due(due_at=DUE, gap=GAP, now=now) == steps


def test_nothing_is_due_without_a_due_time() -> None:
    assert steps_due(due_at=None, gap=GAP, now=DUE) == []


def test_the_rungs_in_order() -> None:
    assert [step.name for step in LadderStep] == [
        "ASSIGNEE_AND_COORDINATORS",
        "LEAD_CLINICIAN",
        "CLINICAL_LEAD",
    ]
    assert LAST_STEP == 3


def test_the_occurrence_key_is_the_step_and_the_clock_in_utc() -> None:
    clock = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert step_occurrence(2, clock) == "step-2:20260310T140000.000000Z"
    assert len(step_occurrence(3, clock)) <= 40  # the outbox's occurrence column


def test_the_clinical_modules_never_import_django() -> None:
    code = (
        "import sys, carecore.clinical.escalation, carecore.clinical.severity; "
        "sys.exit('django' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
