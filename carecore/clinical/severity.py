"""Triage severities shared by message triage (messaging) and intake red flags (intake).

One vocabulary for both, so a clinician reads "crisis" the same way wherever it came from, and
the patient is told the same action for the same severity. Plain Python: no Django.

PRODUCT.md ("Messaging", "Intake"):
- emergency: call 911 now (airway swelling, trouble breathing, chest pain, vomiting blood, ...)
- crisis: call or text 988 now, 911 if in immediate danger (suicidal thoughts, self-harm, overdose)
- urgent: a clinician within 15 minutes (rectal bleeding, eczema herpeticum, ...)
- soon: clinician review today; no night page (weight loss, nocturnal symptoms, family history)
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    EMERGENCY = "emergency"
    CRISIS = "crisis"
    URGENT = "urgent"
    SOON = "soon"

    @property
    def rank(self) -> int:
        """Higher is more severe; use it to pick the worst of several hits."""
        return _RANK[self]

    @property
    def pages_on_call(self) -> bool:
        """Emergency, crisis and urgent page on-call day and night; soon never does."""
        return self is not Severity.SOON

    @property
    def patient_guidance(self) -> str:
        """What the patient is told to do at once. No patient data: the same words for everyone."""
        return _GUIDANCE[self]

    @property
    def guidance_before_alert(self) -> str:
        """The same advice for answers the care team has not been alerted to yet (a
        questionnaire saved but not submitted): the action, and that submitting alerts them."""
        return _GUIDANCE_BEFORE_ALERT[self]


_RANK = {Severity.SOON: 1, Severity.URGENT: 2, Severity.CRISIS: 3, Severity.EMERGENCY: 4}

_GUIDANCE = {
    Severity.EMERGENCY: (
        "What you describe can be a medical emergency. Call 911 now or go to the nearest "
        "emergency department. Do not wait for a reply here. Your care team has been alerted."
    ),
    Severity.CRISIS: (
        "You are not alone, and help is available right now. Call or text 988 (Suicide & Crisis "
        "Lifeline) to talk to someone at once. If you are in immediate danger or have taken an "
        "overdose, call 911. Your care team has been alerted."
    ),
    Severity.URGENT: (
        "What you describe needs a clinician's attention soon. Your care team has been alerted "
        "and a clinician will contact you within 15 minutes. If you feel worse or it becomes an "
        "emergency, call 911."
    ),
    Severity.SOON: (
        "Your care team will review this today. If your symptoms get worse or you feel it is an "
        "emergency, call 911."
    ),
}


_SUBMIT = "Submit your answers so your care team is alerted."

_GUIDANCE_BEFORE_ALERT = {
    Severity.EMERGENCY: (
        "What you describe can be a medical emergency. Call 911 now or go to the nearest "
        "emergency department; do not wait to finish this questionnaire. When you can, submit "
        "your answers so your care team is alerted."
    ),
    Severity.CRISIS: (
        "You are not alone, and help is available right now. Call or text 988 (Suicide & Crisis "
        "Lifeline) to talk to someone at once. If you are in immediate danger or have taken an "
        "overdose, call 911. When you can, submit your answers so your care team is alerted."
    ),
    Severity.URGENT: (
        "What you describe needs a clinician's attention soon. " + _SUBMIT + " If you feel "
        "worse or it becomes an emergency, call 911."
    ),
    Severity.SOON: (
        "Your care team should review this today. " + _SUBMIT + " If your symptoms get worse "
        "or you feel it is an emergency, call 911."
    ),
}


def worst(severities: list[Severity]) -> Severity | None:
    """The most severe of several hits, or None when there are none."""
    return max(severities, key=lambda severity: severity.rank, default=None)
