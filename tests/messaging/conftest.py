"""Messaging fixtures: a thread the patient opened, one of the other patient, and a clock.

Care-team hours change what a send does (after-hours auto-reply), so every messaging test runs
at a known working moment unless it travels elsewhere itself: Tuesday 10 March 2026, 10:00 in
New York. The clock stands still; tests move it explicitly (`clock.shift`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from carecore.accounts.models import Patient
from messaging import services
from messaging.models import Thread

from ..outbox import announce

NEW_YORK = ZoneInfo("America/New_York")
WORKING_MOMENT = datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def _working_hours() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WORKING_MOMENT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clock(_working_hours: time_machine.Traveller) -> time_machine.Traveller:
    return _working_hours


def open_thread(patient: Patient, body: str = "My eczema is itchy again.", **kwargs) -> Thread:
    result = services.thread_open(
        actor=patient.user,
        subject=kwargs.pop("subject", "Flare on my arms"),
        category=kwargs.pop("category", "clinical"),
        body=body,
        **kwargs,
    )
    announce()  # as the worker would, so a test starts from a thread everyone was told of
    return result.thread


@pytest.fixture
def thread(patient: Patient) -> Thread:
    return open_thread(patient)


@pytest.fixture
def other_thread(other_patient: Patient) -> Thread:
    return open_thread(other_patient, body="Question about my bill.", category="billing")
