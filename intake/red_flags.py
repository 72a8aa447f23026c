"""Red-flag rules over the gut-skin intake: GI alarm features and dermatology emergencies.

Pure Python, no Django. ``red_flags(answers, date_of_birth=..., today=...)`` returns the flags
raised by one ``gut-skin-intake`` response, in the fixed order of ``RULES``. Each flag carries a
triage ``Severity`` (``carecore.clinical.severity``, the vocabulary message triage uses too), and
the worst one decides what happens (docs/intake.md, "Red flags and severities"):

- emergency and crisis: the patient is shown the severity's guidance (911 / 988) at once, the
  on-call clinician is paged, and the page escalates along the ladder while unanswered;
- urgent: the on-call (lead) clinician is paged and the page escalates while unanswered;
- soon: the review is marked ``expedited`` (reviewed today, ahead of routine) with no page.

The codes are stable (stored with the response); the care-plan rule ``urgent_review`` keys on
"any flag".

Sources
    GI alarm features: NICE NG12, Suspected cancer: recognition and referral (2015, updated
    2023), section 1.3 lower and upper GI (rectal bleeding, weight loss, dysphagia; age 60 and
    over with iron-deficiency anaemia or a change in bowel habit); NICE CG61, Irritable bowel
    syndrome in adults (2008, updated 2017), section 1.1.1 red flag indicators (unintentional
    weight loss, rectal bleeding, family history of bowel or ovarian cancer, anaemia, a change
    in bowel habit to looser or more frequent stools for more than 6 weeks after age 60); Rome
    IV (Lacy BE et al. Gastroenterology. 2016;150:1393-1407) alarm features (onset after age 50,
    rectal bleeding, nocturnal symptoms, fever, weight loss, family history of colorectal
    cancer, IBD or coeliac disease, persistent vomiting, iron-deficiency anaemia).
    Dermatology emergencies: angioedema of the lips, tongue or throat (airway risk; NICE CG183
    / NICE CKS "Angio-oedema and anaphylaxis": call 999/911); Stevens-Johnson syndrome / toxic
    epidermal necrolysis, painful mucosal erosions of mouth, eyes or genitals with blistering or
    sloughing skin (British Association of Dermatologists guidelines for SJS/TEN in adults,
    Creamer D et al. Br J Dermatol. 2016;174:1194-1227: emergency admission; new mucosal
    erosions alone can be the prodrome, so they are urgent on their own); eczema herpeticum
    (painful, rapidly spreading, punched-out blisters or erosions on eczema; NICE CKS "Eczema -
    atopic", NICE CG57 same-day referral); infected eczema (weeping, crusting, pustules; NICE
    NG190, Secondary bacterial infection of eczema, 2021: seek urgent help with fever or
    systemic illness); erythroderma (inflammation of >= 90% of the skin); ocular rosacea with
    eye pain or visual change (same-day ophthalmology); thoughts of self-harm (NICE NG225,
    urgent mental-health assessment; the 988 Suicide & Crisis Lifeline).

Rules (answers are the intake's booleans; only ``true`` raises a flag)
    Each ``rf-*`` question maps to one flag unless said otherwise below. Eye pain / vision
    change, spreading blisters and infected eczema flag whatever concerns the patient ticked:
    the question itself names the problem, and a skin or eye emergency must not wait for the
    patient to have chosen "rosacea" or "eczema".

    Onset after 50 (``gi_onset_after_50``): raised when ``symptom-onset-age`` is 50 or more.
    Ages are whole years, so an answer of 50 means "50 years and some months", i.e. over 50.
    When the onset age is not given, it is raised from the date of birth instead if the patient
    reports new gut symptoms (``gut-symptoms-new`` true: started in the last 12 months) and is 50
    or older today (age in whole years on ``today``). Symptoms that started in the last 12 months
    in someone aged 50 or more began at 49 at the earliest; the inferred flag over-calls by at
    most that year, which is the safe direction for a screening rule.

    Change in bowel habit after 60 (``gi_bowel_habit_change_over_60``): ``rf-bowel-habit-change``
    is true and the patient is 60 or older today (NG12's "aged 60 and over").

    Mucosal sores (version 1.1.0): with blistering or peeling skin (``rf-skin-blistering``, or
    peeling/redness over nearly the whole body) they are the SJS/TEN emergency
    (``derm_sjs_ten``); alone they are urgent (``derm_mucosal_sores``). One or the other, never
    both.

    Infected eczema (version 1.1.0): with a fever in the last 2 weeks (``rf-fever``) it is urgent
    (``derm_infected_eczema_fever``); without, it is ``soon`` (``derm_infected_eczema``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from carecore.clinical.severity import Severity, worst

ONSET_AGE_THRESHOLD = 50
BOWEL_HABIT_AGE_THRESHOLD = 60

Answers = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RedFlag:
    code: str
    label: str
    severity: Severity

    def as_dict(self) -> dict[str, str]:
        """The API (and stored) shape: ``{"code": ..., "label": ..., "severity": ...}``."""
        return {"code": self.code, "label": self.label, "severity": self.severity.value}


@dataclass(frozen=True, slots=True)
class Rule:
    flag: RedFlag
    fires: Callable[[Answers, date, date], bool]


def age_on(date_of_birth: date, day: date) -> int:
    """Age in completed years on ``day`` (a 29 February birthday counts from 1 March)."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def _true(answers: Answers, link_id: str) -> bool:
    return answers.get(link_id) is True


def _yes(link_id: str) -> Callable[[Answers, date, date], bool]:
    return lambda answers, _dob, _today: _true(answers, link_id)


def _onset_after_50(answers: Answers, date_of_birth: date, today: date) -> bool:
    onset_age = answers.get("symptom-onset-age")
    if type(onset_age) is int:
        return onset_age >= ONSET_AGE_THRESHOLD
    return _true(answers, "gut-symptoms-new") and (
        age_on(date_of_birth, today) >= ONSET_AGE_THRESHOLD
    )


def _bowel_habit_change_over_60(answers: Answers, date_of_birth: date, today: date) -> bool:
    return _true(answers, "rf-bowel-habit-change") and (
        age_on(date_of_birth, today) >= BOWEL_HABIT_AGE_THRESHOLD
    )


def _skin_sloughing(answers: Answers) -> bool:
    return _true(answers, "rf-skin-blistering") or _true(answers, "rf-widespread-redness")


def _sjs_ten(answers: Answers, _dob: date, _today: date) -> bool:
    return _true(answers, "rf-mucosal-sores") and _skin_sloughing(answers)


def _mucosal_sores_alone(answers: Answers, _dob: date, _today: date) -> bool:
    return _true(answers, "rf-mucosal-sores") and not _skin_sloughing(answers)


def _infected_eczema(*, with_fever: bool) -> Callable[[Answers, date, date], bool]:
    return lambda answers, _dob, _today: (
        _true(answers, "rf-eczema-infected") and _true(answers, "rf-fever") is with_fever
    )


E, C, U, S = Severity.EMERGENCY, Severity.CRISIS, Severity.URGENT, Severity.SOON

RULES: tuple[Rule, ...] = (
    Rule(RedFlag("gi_rectal_bleeding", "Rectal bleeding or blood in the stool", U),
         _yes("rf-rectal-bleeding")),
    Rule(RedFlag("gi_weight_loss", "Unintended weight loss", S), _yes("rf-weight-loss")),
    Rule(RedFlag("gi_nocturnal_symptoms", "Gut symptoms that wake the patient at night", S),
         _yes("rf-nocturnal-symptoms")),
    Rule(RedFlag("gi_family_history",
                 "Close relative with bowel cancer, inflammatory bowel disease or coeliac disease",
                 S),
         _yes("rf-family-history-gi")),
    Rule(RedFlag("gi_family_history_ovarian", "Close relative with ovarian cancer", S),
         _yes("rf-family-history-ovarian")),
    Rule(RedFlag("gi_iron_deficiency_anaemia", "Iron-deficiency anaemia", S),
         _yes("rf-iron-deficiency-anaemia")),
    Rule(RedFlag("gi_bowel_habit_change_over_60",
                 "Change in bowel habit for over 6 weeks at age 60 or over", S),
         _bowel_habit_change_over_60),
    Rule(RedFlag("gi_fever", "Fever", S), _yes("rf-fever")),
    Rule(RedFlag("gi_dysphagia", "Difficulty swallowing or food sticking", U),
         _yes("rf-trouble-swallowing")),
    Rule(RedFlag("gi_persistent_vomiting", "Persistent vomiting", U),
         _yes("rf-persistent-vomiting")),
    Rule(RedFlag("gi_onset_after_50", "Gut symptoms that began at age 50 or over", S),
         _onset_after_50),
    Rule(RedFlag("derm_angioedema",
                 "Swelling of the lips, tongue, mouth or throat now: possible angioedema", E),
         _yes("rf-angioedema")),
    Rule(RedFlag("derm_sjs_ten",
                 "Mouth, eye or genital sores with blistering or peeling skin: possible SJS/TEN",
                 E),
         _sjs_ten),
    Rule(RedFlag("derm_mucosal_sores", "New painful sores in the mouth, eyes or genitals", U),
         _mucosal_sores_alone),
    Rule(RedFlag("derm_eczema_herpeticum",
                 "Painful, spreading blisters or sores on eczema: possible eczema herpeticum", U),
         _yes("rf-eczema-spreading-blisters")),
    Rule(RedFlag("derm_infected_eczema_fever", "Signs of infected eczema with a fever", U),
         _infected_eczema(with_fever=True)),
    Rule(RedFlag("derm_infected_eczema", "Signs of infected eczema (weeping, crusting, pus)", S),
         _infected_eczema(with_fever=False)),
    Rule(RedFlag("derm_erythroderma",
                 "Redness or peeling over nearly the whole body: possible erythroderma", U),
         _yes("rf-widespread-redness")),
    Rule(RedFlag("derm_ocular_rosacea",
                 "Eye pain or change in vision: possible ocular rosacea or other eye emergency", U),
         _yes("rf-rosacea-eye-symptoms")),
    Rule(RedFlag("mh_self_harm", "Thoughts of self-harm or of being better off dead", C),
         _yes("rf-self-harm-thoughts")),
)  # fmt: skip

CODES = tuple(rule.flag.code for rule in RULES)
SEVERITY_BY_CODE: Mapping[str, Severity] = {rule.flag.code: rule.flag.severity for rule in RULES}


def red_flags(answers: Mapping[str, Any], *, date_of_birth: date, today: date) -> list[RedFlag]:
    """The red flags raised by a gut-skin intake response, in ``RULES`` order.

    ``today`` is the date in the patient's time zone (CONVENTIONS: "today" is the patient's).
    Missing answers raise nothing: the intake makes the ``rf-*`` questions required, so a
    completed response answers every one of them.
    """
    return [rule.flag for rule in RULES if rule.fires(answers, date_of_birth, today)]


def worst_severity(flags: list[Mapping[str, Any]]) -> Severity | None:
    """The worst severity among stored flags (``{"code", "label", "severity"}``), or None."""
    return worst([Severity(flag["severity"]) for flag in flags])
