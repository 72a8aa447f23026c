"""The escalation ladder for an unanswered clinical alert, shared by messaging (an overdue
thread) and intake (an unanswered red-flag page). Plain Python: no Django.

Once the alert's response is due, one rung at a time, `gap` apart, until someone answers:

1. the assignee (when the alert has one) and the care team's coordinators;
2. the lead clinician of the care team;
3. the clinical lead(s).

Who holds each rung is read by `carecore.accounts.selectors.escalation_ladder_user_ids`; when
each rung is due is `steps_due`. Each rung is recorded once per alert clock, and the outbox key
of its notification is `step_occurrence` (docs/messaging.md, docs/intake.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import IntEnum


class LadderStep(IntEnum):
    ASSIGNEE_AND_COORDINATORS = 1
    LEAD_CLINICIAN = 2
    CLINICAL_LEAD = 3


LAST_STEP = max(LadderStep)


def steps_due(*, due_at: datetime | None, gap: timedelta, now: datetime) -> list[LadderStep]:
    """Every rung whose time has come: step 1 at `due_at`, each next one `gap` later. A late
    sweep gets all the rungs it missed at once."""
    if due_at is None or now < due_at:
        return []
    return [step for step in LadderStep if now >= due_at + gap * (step - 1)]


def clock_stamp(clock_start: datetime) -> str:
    """An alert clock's start in UTC, to microseconds ("20260310T150000.000000Z")."""
    return clock_start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def step_occurrence(step: int, clock_start: datetime) -> str:
    """`step-<n>:<clock start>`: a rung is announced once per clock, and the clock's start tells
    a new clock's rungs apart from the last one's (30 characters; the outbox allows 40)."""
    return f"step-{step}:{clock_stamp(clock_start)}"
