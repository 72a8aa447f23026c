"""Red-flag rules over the gut-skin intake: GI alarm features and dermatology emergencies.

Pure Python, no Django. ``red_flags(answers, date_of_birth=..., today=...)`` returns the flags
raised by one ``gut-skin-intake`` response, in the fixed order of ``RULES``. Any flag marks the
response urgent (PRODUCT.md, "Intake"); the codes are stable and the care-plan rule
``urgent_review`` keys on "any flag".

Sources
    GI alarm features: NICE NG12, Suspected cancer: recognition and referral (2015, updated
    2023), lower and upper GI sections (rectal bleeding, weight loss, dysphagia, age-based
    thresholds); NICE CG61, Irritable bowel syndrome in adults (2008, updated 2017), section 1.1
    "red flag indicators" (unintentional weight loss, rectal bleeding, family history of bowel or
    ovarian cancer, change in bowel habit after age 60); Rome IV (Lacy BE et al.
    Gastroenterology. 2016;150:1393-1407) alarm features (onset after age 50, rectal bleeding,
    nocturnal symptoms, fever, weight loss, family history of colorectal cancer, IBD or coeliac
    disease, persistent vomiting).
    Dermatology emergencies: eczema herpeticum (painful, rapidly spreading, punched-out blisters
    or erosions on eczema; NICE CKS "Eczema - atopic" / NICE CG57 urgent referral), erythroderma
    (inflammation of >= 90% of the skin), ocular rosacea with eye pain or visual change (same-day
    ophthalmology), and thoughts of self-harm (NICE NG225, urgent mental-health assessment).

Rules (answers are the intake's booleans; only ``true`` raises a flag)
    Each ``rf-*`` question maps to one flag. Eye pain / vision change and spreading blisters flag
    whatever concerns the patient ticked: the question itself names the emergency, and an eye or
    skin emergency must not wait for the patient to have chosen "rosacea" or "eczema".

    Onset after 50 (``gi_onset_after_50``): raised when ``symptom-onset-age`` is 50 or more.
    Ages are whole years, so an answer of 50 means "50 years and some months", i.e. over 50.
    When the onset age is not given, it is raised from the date of birth instead if the patient
    reports new gut symptoms (``gut-symptoms-new`` true: started in the last 12 months) and is 50
    or older today (age in whole years on ``today``). Symptoms that started in the last 12 months
    in someone aged 50 or more began at 49 at the earliest; the inferred flag over-calls by at
    most that year, which is the safe direction for a screening rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

ONSET_AGE_THRESHOLD = 50


@dataclass(frozen=True, slots=True)
class RedFlag:
    code: str
    label: str

    def as_dict(self) -> dict[str, str]:
        """The API shape: ``{"code": ..., "label": ...}``."""
        return {"code": self.code, "label": self.label}


@dataclass(frozen=True, slots=True)
class Rule:
    flag: RedFlag
    fires: Callable[[Mapping[str, Any], date, date], bool]


def age_on(date_of_birth: date, day: date) -> int:
    """Age in completed years on ``day`` (a 29 February birthday counts from 1 March)."""
    had_birthday = (day.month, day.day) >= (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - (0 if had_birthday else 1)


def _yes(link_id: str) -> Callable[[Mapping[str, Any], date, date], bool]:
    return lambda answers, _dob, _today: answers.get(link_id) is True


def _onset_after_50(answers: Mapping[str, Any], date_of_birth: date, today: date) -> bool:
    onset_age = answers.get("symptom-onset-age")
    if type(onset_age) is int:
        return onset_age >= ONSET_AGE_THRESHOLD
    return (
        answers.get("gut-symptoms-new") is True
        and age_on(date_of_birth, today) >= ONSET_AGE_THRESHOLD
    )


RULES: tuple[Rule, ...] = (
    Rule(RedFlag("gi_rectal_bleeding", "Rectal bleeding or blood in the stool"),
         _yes("rf-rectal-bleeding")),
    Rule(RedFlag("gi_weight_loss", "Unintended weight loss"), _yes("rf-weight-loss")),
    Rule(RedFlag("gi_nocturnal_symptoms", "Gut symptoms that wake the patient at night"),
         _yes("rf-nocturnal-symptoms")),
    Rule(RedFlag("gi_family_history",
                 "Close relative with bowel cancer, inflammatory bowel disease or coeliac disease"),
         _yes("rf-family-history-gi")),
    Rule(RedFlag("gi_fever", "Fever"), _yes("rf-fever")),
    Rule(RedFlag("gi_dysphagia", "Difficulty swallowing or food sticking"),
         _yes("rf-trouble-swallowing")),
    Rule(RedFlag("gi_persistent_vomiting", "Persistent vomiting"),
         _yes("rf-persistent-vomiting")),
    Rule(RedFlag("gi_onset_after_50", "Gut symptoms that began at age 50 or over"),
         _onset_after_50),
    Rule(RedFlag("derm_eczema_herpeticum",
                 "Painful, spreading blisters or sores on eczema: possible eczema herpeticum"),
         _yes("rf-eczema-spreading-blisters")),
    Rule(RedFlag("derm_erythroderma",
                 "Redness or peeling over nearly the whole body: possible erythroderma"),
         _yes("rf-widespread-redness")),
    Rule(RedFlag("derm_ocular_rosacea",
                 "Eye pain or change in vision: possible ocular rosacea or other eye emergency"),
         _yes("rf-rosacea-eye-symptoms")),
    Rule(RedFlag("mh_self_harm", "Thoughts of self-harm or of being better off dead"),
         _yes("rf-self-harm-thoughts")),
)  # fmt: skip

CODES = tuple(rule.flag.code for rule in RULES)


def red_flags(answers: Mapping[str, Any], *, date_of_birth: date, today: date) -> list[RedFlag]:
    """The red flags raised by a gut-skin intake response, in ``RULES`` order.

    ``today`` is the date in the patient's time zone (CONVENTIONS: "today" is the patient's).
    Missing answers raise nothing: the intake makes the ``rf-*`` questions required, so a
    completed response answers every one of them.
    """
    return [rule.flag for rule in RULES if rule.fires(answers, date_of_birth, today)]
