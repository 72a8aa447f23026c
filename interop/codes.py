"""Code systems and codes the FHIR resources use. Pure data, no Django.

Instrument totals carry a LOINC code where LOINC has one that matches the instrument as CareCore
scores it (docs/fhir.md, "Codes", says how each was checked), and always CareCore's own code, so a
client that knows neither can still tell the instruments apart.
"""

from __future__ import annotations

from dataclasses import dataclass

FHIR_VERSION = "4.0.1"
CARECORE_BASE = "https://carecore.example/fhir"
CARECORE_CODES = f"{CARECORE_BASE}/CodeSystem"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_DEGREE = "http://terminology.hl7.org/CodeSystem/v2-0360"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

INSTRUMENT_SCORE = f"{CARECORE_CODES}/instrument-score"
SCORE_BAND = f"{CARECORE_CODES}/score-band"
SUBSCALE = f"{CARECORE_CODES}/instrument-subscale"
CARE_PLAN_RULE = f"{CARECORE_CODES}/care-plan-rule"
CARE_TEAM_ROLE = f"{CARECORE_CODES}/care-team-role"
VISIT_TYPE = f"{CARECORE_CODES}/visit-type"
MESSAGE_CATEGORY = f"{CARECORE_CODES}/message-category"


@dataclass(frozen=True)
class ScoreCode:
    display: str
    loinc: str | None = None


# LOINC only where the code's published definition matches the total CareCore computes:
# 89870-0 "Total score [POEM]" (LOINC 2.65) and 106860-0 "Perceived stress scale-10 total score
# [PSS-10]" (LOINC 2.81, reverse-scored items as published). No LOINC total was found for DLQI,
# ISI, GSRS, IBS-SSS, PSS-4 or the Bristol type: those use only the CareCore code.
INSTRUMENT_SCORES: dict[str, ScoreCode] = {
    "poem": ScoreCode("POEM total score", loinc="89870-0"),
    "dlqi": ScoreCode("DLQI total score"),
    "gsrs": ScoreCode("GSRS overall mean score"),
    "ibs-sss": ScoreCode("IBS-SSS total score"),
    "isi": ScoreCode("ISI total score"),
    "pss-10": ScoreCode("PSS-10 total score", loinc="106860-0"),
    "pss-4": ScoreCode("PSS-4 total score"),
    "bristol": ScoreCode("Bristol stool form type"),
}


def score_display(instrument: str) -> str:
    known = INSTRUMENT_SCORES.get(instrument)
    return known.display if known else f"{instrument} score"


def score_codings(instrument: str) -> list[dict[str, str]]:
    """The codings of an instrument's total: LOINC first when there is one, then CareCore's."""
    display = score_display(instrument)
    codings = [{"system": INSTRUMENT_SCORE, "code": instrument, "display": display}]
    known = INSTRUMENT_SCORES.get(instrument)
    if known and known.loinc:
        codings.insert(0, {"system": LOINC, "code": known.loinc, "display": display})
    return codings


def instrument_for_code(token: str) -> str | None:
    """The instrument a search `code` token names: `system|code`, or a bare code of either
    system. None when it names no instrument."""
    system, _, code = token.rpartition("|")
    for instrument, known in INSTRUMENT_SCORES.items():
        if system in ("", LOINC) and known.loinc == code:
            return instrument
    if system in ("", INSTRUMENT_SCORE):
        return code or None
    return None
