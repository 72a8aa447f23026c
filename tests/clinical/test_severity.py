"""The severity vocabulary's patient guidance (carecore/clinical/severity.py)."""

from __future__ import annotations

import pytest

from carecore.clinical.severity import Severity


@pytest.mark.parametrize("severity", list(Severity))
def test_guidance_before_an_alert_never_claims_the_care_team_was_alerted(
    severity: Severity,
) -> None:
    before = severity.guidance_before_alert
    assert "has been alerted" not in before
    assert "submit your answers so your care team is alerted" in before.lower()
    assert "has been alerted" in severity.patient_guidance or severity is Severity.SOON


def test_the_actions_are_the_same_before_and_after_an_alert() -> None:
    assert "Call 911 now" in Severity.EMERGENCY.guidance_before_alert
    assert "988" in Severity.CRISIS.guidance_before_alert
    assert "911" in Severity.URGENT.guidance_before_alert
