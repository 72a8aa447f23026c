"""A process builds the triage pipeline in the background as it starts, so the first patient
message it screens does not wait for the build inside the request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import time, django
django.setup()
from messaging import triage
deadline = time.monotonic() + 120
while triage._pipeline is None and time.monotonic() < deadline:
    time.sleep(0.05)
print("warm" if triage._pipeline is not None else "cold")
"""


def _started_process(warm_up: str) -> str:
    env = {**os.environ, "CARECORE_TRIAGE_WARM_UP": warm_up}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT if warm_up == "true" else SCRIPT.replace("120", "3")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_starting_process_builds_the_pipeline_without_being_asked() -> None:
    assert _started_process("true") == "warm"


def test_it_can_be_switched_off() -> None:
    assert _started_process("false") == "cold"
