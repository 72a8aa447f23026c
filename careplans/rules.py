"""The care-plan rule set: from a patient's latest intake and scores to a draft plan.

Plain Python, no Django: each rule has a stable `code`, a `version`, a condition over named facts
(`IntakeFacts`), and the activity or goal it produces with patient-facing instructions. Every
activity records the rule that produced it and, in words a clinician can check, the answers and
scores that fired it ("fibre-rich foods: 1 serving a day").

A rule whose inputs are unanswered does not fire: a draft never claims a problem the patient did
not report. The clinician edits the draft before anything reaches the patient.

`docs/care-plan-rules.md` is generated from this module (`python -m careplans.rules`), and a
test fails when it drifts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Category:
    NUTRITION = "nutrition"
    PROBIOTIC_FOODS = "probiotic_foods"
    PREBIOTIC_FOODS = "prebiotic_foods"
    HYDRATION = "hydration"
    SLEEP = "sleep"
    STRESS = "stress"
    MOVEMENT = "movement"
    ELIMINATION_TRIAL = "elimination_trial"
    FOLLOW_UP = "follow_up"
    REFERRAL = "referral"


@dataclass(frozen=True)
class IntakeFacts:
    """What the rules look at, by name. `None` means the patient did not answer."""

    fibre_servings_daily: int | None = None
    fermented_foods_weekly: int | None = None
    added_sugar_daily: int | None = None
    processed_foods_weekly: int | None = None
    dairy_reaction: bool | None = None
    gluten_reaction: bool | None = None
    alcohol_drinks_weekly: int | None = None
    caffeinated_drinks_daily: int | None = None
    water_glasses_daily: int | None = None
    sleep_hours_nightly: float | None = None
    exercise_minutes_weekly: int | None = None
    stress_rating: int | None = None
    antibiotics_last_3_months: bool | None = None
    # Instrument totals (None when not answered or not scored).
    poem_total: int | None = None
    dlqi_total: int | None = None
    ibs_sss_total: int | None = None
    gsrs_syndromes: Mapping[str, float | None] = field(default_factory=dict)
    isi_total: int | None = None
    pss10_total: int | None = None
    pss4_total: int | None = None
    red_flags: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class GoalSpec:
    """A measurable goal, and the repeat measure that tracks it."""

    instrument: str
    target_change: float  # a decrease of at least this much from the baseline
    weeks: int
    repeat_every_weeks: int
    baseline: float | int | None


@dataclass(frozen=True)
class Activity:
    code: str
    rule_version: int
    category: str
    title: str
    instructions: str
    rationale: str
    evidence: tuple[str, ...]
    goal: GoalSpec | None = None


Condition = Callable[[IntakeFacts], list[str]]


@dataclass(frozen=True)
class Rule:
    code: str
    version: int
    category: str
    fires_when: str  # the condition, in words, for clinicians (docs and rationale)
    title: str
    instructions: str
    condition: Condition
    goal: Callable[[IntakeFacts], GoalSpec] | None = None

    def apply(self, facts: IntakeFacts) -> Activity | None:
        evidence = self.condition(facts)
        if not evidence:
            return None
        return Activity(
            code=self.code,
            rule_version=self.version,
            category=self.category,
            title=self.title,
            instructions=self.instructions,
            rationale=f"Suggested because {self.fires_when}.",
            evidence=tuple(evidence),
            goal=self.goal(facts) if self.goal else None,
        )


# --- evidence helpers: each returns a sentence when its threshold is met, else None ----------


def _plural(count: float | int, one: str, many: str) -> str:
    return one if count == 1 else many


def _below(
    value: float | int | None, limit: float, label: str, unit: tuple[str, str]
) -> str | None:
    if value is None or value >= limit:
        return None
    return f"{label}: {value:g} {_plural(value, *unit)}"


def _at_least(
    value: float | int | None, limit: float, label: str, unit: tuple[str, str]
) -> str | None:
    if value is None or value < limit:
        return None
    return f"{label}: {value:g} {_plural(value, *unit)}"


def _above(
    value: float | int | None, limit: float, label: str, unit: tuple[str, str]
) -> str | None:
    if value is None or value <= limit:
        return None
    return f"{label}: {value:g} {_plural(value, *unit)}"


def _yes(value: bool | None, sentence: str) -> str | None:
    return sentence if value is True else None


def _score_at_least(value: float | int | None, limit: float, instrument: str) -> str | None:
    if value is None or value < limit:
        return None
    return f"{instrument} score: {value:g}"


def _evidence(*sentences: str | None) -> list[str]:
    return [sentence for sentence in sentences if sentence]


_SERVING = ("serving a day", "servings a day")
_PER_WEEK = ("time a week", "times a week")
_PER_DAY = ("a day", "a day")


def _fibre_low(facts: IntakeFacts) -> str | None:
    return _below(facts.fibre_servings_daily, 5, "fibre-rich foods", _SERVING)


# --- the rule set ------------------------------------------------------------------------------


def _skin_goal(facts: IntakeFacts) -> GoalSpec:
    if facts.poem_total is not None and facts.poem_total >= 8:
        return GoalSpec("poem", 3.4, weeks=8, repeat_every_weeks=2, baseline=facts.poem_total)
    return GoalSpec("dlqi", 4, weeks=8, repeat_every_weeks=2, baseline=facts.dlqi_total)


def _gi_goal(facts: IntakeFacts) -> GoalSpec:
    return GoalSpec("ibs-sss", 50, weeks=8, repeat_every_weeks=4, baseline=facts.ibs_sss_total)


def _gsrs_high(facts: IntakeFacts) -> list[str]:
    return [
        f"GSRS {name.replace('_', ' ')} score: {mean:g}"
        for name, mean in sorted(facts.gsrs_syndromes.items())
        if mean is not None and mean >= 4
    ]


RULES: tuple[Rule, ...] = (
    Rule(
        code="fiber",
        version=1,
        category=Category.NUTRITION,
        fires_when="fibre-rich foods are fewer than 5 servings a day",
        title="Raise fibre gradually",
        instructions=(
            "Add one extra serving of fibre-rich food every few days until you reach at least "
            "five a day: leafy greens, berries, legumes and whole grains. Go slowly and drink "
            "water with it, so your gut can adjust."
        ),
        condition=lambda f: _evidence(_fibre_low(f)),
    ),
    Rule(
        code="fermented_foods",
        version=1,
        category=Category.PROBIOTIC_FOODS,
        fires_when="fermented foods are eaten fewer than 3 times a week",
        title="Add fermented foods",
        instructions=(
            "Have a small portion of yogurt, kefir, kimchi, sauerkraut or miso a few times a "
            "week. Start with a spoonful and build up."
        ),
        condition=lambda f: _evidence(
            _below(f.fermented_foods_weekly, 3, "fermented foods", _PER_WEEK)
        ),
    ),
    Rule(
        code="prebiotic_foods",
        version=1,
        category=Category.PREBIOTIC_FOODS,
        fires_when="fibre is low or antibiotics were taken in the last 3 months",
        title="Feed your gut bacteria with prebiotic foods",
        instructions=(
            "Include prebiotic foods such as garlic, onions, oats, asparagus, leeks and slightly "
            "green bananas in your meals most days."
        ),
        condition=lambda f: _evidence(
            _fibre_low(f), _yes(f.antibiotics_last_3_months, "antibiotics in the last 3 months")
        ),
    ),
    Rule(
        code="reduce_sugar_processed",
        version=1,
        category=Category.NUTRITION,
        fires_when="added sugar is 2 or more a day or processed foods 5 or more times a week",
        title="Cut refined sugar and processed snacks",
        instructions=(
            "Swap sugary drinks and processed snacks for whole foods: fruit, nuts, plain yogurt. "
            "Check labels for added sugar."
        ),
        condition=lambda f: _evidence(
            _at_least(f.added_sugar_daily, 2, "added sugar", ("serving a day", "servings a day")),
            _at_least(f.processed_foods_weekly, 5, "processed foods", _PER_WEEK),
        ),
    ),
    Rule(
        code="elimination_trial",
        version=1,
        category=Category.ELIMINATION_TRIAL,
        fires_when="a reaction to dairy or gluten is reported",
        title="Supervised elimination and reintroduction trial",
        instructions=(
            "With your clinician, remove the suspected food for a set period, then reintroduce "
            "it and note how your skin and gut respond. Do not cut out food groups long-term "
            "without guidance."
        ),
        condition=lambda f: _evidence(
            _yes(f.dairy_reaction, "reaction to dairy reported"),
            _yes(f.gluten_reaction, "reaction to gluten reported"),
        ),
    ),
    Rule(
        code="reduce_alcohol_caffeine",
        version=1,
        category=Category.NUTRITION,
        fires_when="alcohol is more than 7 drinks a week or caffeine more than 3 drinks a day",
        title="Reduce alcohol and caffeine",
        instructions=(
            "Aim for no more than 7 alcoholic drinks a week with alcohol-free days, and at most "
            "3 caffeinated drinks a day, none after early afternoon."
        ),
        condition=lambda f: _evidence(
            _above(f.alcohol_drinks_weekly, 7, "alcohol", ("drink a week", "drinks a week")),
            _above(f.caffeinated_drinks_daily, 3, "caffeine", ("drink a day", "drinks a day")),
        ),
    ),
    Rule(
        code="hydration",
        version=1,
        category=Category.HYDRATION,
        fires_when="water is fewer than 6 glasses a day",
        title="Sip water through the day",
        instructions="Keep water within reach and sip through the day: at least 6 glasses.",
        condition=lambda f: _evidence(
            _below(f.water_glasses_daily, 6, "water", ("glass a day", "glasses a day"))
        ),
    ),
    Rule(
        code="sleep",
        version=1,
        category=Category.SLEEP,
        fires_when="sleep is under 7 hours a night or the ISI score is 8 or more",
        title="Protect your sleep",
        instructions=(
            "Keep a consistent bedtime and wake time, wind down for 30 minutes, and turn screens "
            "off an hour before bed."
        ),
        condition=lambda f: _evidence(
            _below(f.sleep_hours_nightly, 7, "sleep", ("hour a night", "hours a night")),
            _score_at_least(f.isi_total, 8, "Insomnia Severity Index"),
        ),
    ),
    Rule(
        code="stress",
        version=1,
        category=Category.STRESS,
        fires_when="stress is 7 or more out of 10, PSS-10 is 14 or more, or PSS-4 is 8 or more",
        title="Lower everyday stress",
        instructions=(
            "Try five minutes of slow breathing twice a day, a daily walk, or journaling. "
            "We can also book you a session with a health coach."
        ),
        condition=lambda f: _evidence(
            _at_least(f.stress_rating, 7, "stress", ("out of 10", "out of 10")),
            _score_at_least(f.pss10_total, 14, "Perceived Stress Scale (10)"),
            _score_at_least(f.pss4_total, 8, "Perceived Stress Scale (4)"),
        ),
    ),
    Rule(
        code="movement",
        version=1,
        category=Category.MOVEMENT,
        fires_when="exercise is under 150 minutes a week",
        title="Move regularly",
        instructions=(
            "Build up to at least 150 minutes a week of movement you enjoy, such as brisk "
            "walking, cycling or yoga, spread over most days."
        ),
        condition=lambda f: _evidence(
            _below(f.exercise_minutes_weekly, 150, "exercise", ("minute a week", "minutes a week"))
        ),
    ),
    Rule(
        code="skin_goal",
        version=1,
        category=Category.FOLLOW_UP,
        fires_when="POEM is 8 or more or DLQI is 6 or more",
        title="Skin goal: a meaningful improvement in 8 weeks",
        instructions=(
            "Together we aim to bring your eczema score down by at least 3.4 points (or your "
            "quality-of-life score by at least 4) in 8 weeks. We will ask you to repeat the "
            "short skin questionnaire every 2 weeks."
        ),
        condition=lambda f: _evidence(
            _score_at_least(f.poem_total, 8, "POEM"), _score_at_least(f.dlqi_total, 6, "DLQI")
        ),
        goal=_skin_goal,
    ),
    Rule(
        code="gi_goal",
        version=1,
        category=Category.FOLLOW_UP,
        fires_when="IBS-SSS is 175 or more or a GSRS syndrome mean is 4 or more",
        title="Gut goal: a meaningful improvement in 8 weeks",
        instructions=(
            "Together we aim to bring your IBS symptom score down by at least 50 points in "
            "8 weeks. We will ask you to repeat the gut symptom questionnaire every 4 weeks."
        ),
        condition=lambda f: (
            _evidence(_score_at_least(f.ibs_sss_total, 175, "IBS-SSS")) + _gsrs_high(f)
        ),
        goal=_gi_goal,
    ),
    Rule(
        code="urgent_review",
        version=1,
        category=Category.REFERRAL,
        fires_when="the intake reports a red flag",
        title="Urgent clinician review",
        instructions=(
            "Some of your answers need a prompt review by your clinician, who may refer you for "
            "further tests. If you feel very unwell, call 911 or go to the emergency department."
        ),
        condition=lambda f: [f"red flag: {flag['label']}" for flag in f.red_flags],
    ),
)

RULES_BY_CODE = {rule.code: rule for rule in RULES}


def draft_activities(facts: IntakeFacts) -> list[Activity]:
    """Every activity the rule set suggests for these facts, in rule order."""
    return [activity for rule in RULES if (activity := rule.apply(facts)) is not None]


def rules_markdown() -> str:
    """The rule set as a table a clinician can read (docs/care-plan-rules.md)."""
    lines = [
        "# Care-plan rules",
        "",
        "Generated from `careplans/rules.py` by `python -m careplans.rules`; do not",
        "edit by hand (a test fails when this file and the code disagree). A rule whose inputs",
        "were not answered does not fire.",
        "",
        "| code | version | category | fires when | activity | patient instructions |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        lines.append(
            f"| `{rule.code}` | {rule.version} | {rule.category} | {rule.fires_when} "
            f"| {rule.title} | {rule.instructions} |"
        )
    return "\n".join(lines) + "\n"


def _write_document() -> None:
    from pathlib import Path

    target = Path(__file__).resolve().parent.parent / "docs" / "care-plan-rules.md"
    target.write_text(rules_markdown())
    print(f"wrote {target}")


if __name__ == "__main__":
    _write_document()


# --- from stored intake answers and scores to facts ------------------------------------------

# The gut-skin intake's linkIds for each fact (intake/definitions/gut-skin-intake.json).
INTAKE_LINK_IDS: dict[str, str] = {
    "fibre_servings_daily": "fibre-servings-daily",
    "fermented_foods_weekly": "fermented-foods-weekly",
    "added_sugar_daily": "added-sugar-daily",
    "processed_foods_weekly": "processed-foods-weekly",
    "dairy_reaction": "dairy-reaction",
    "gluten_reaction": "gluten-reaction",
    "alcohol_drinks_weekly": "alcohol-drinks-weekly",
    "caffeinated_drinks_daily": "caffeine-drinks-daily",
    "water_glasses_daily": "water-glasses-daily",
    "sleep_hours_nightly": "sleep-hours-nightly",
    "exercise_minutes_weekly": "exercise-minutes-weekly",
    "stress_rating": "stress-level",
    "antibiotics_last_3_months": "antibiotics-last-3-months",
}

# Instrument slug -> the fact holding its total.
INSTRUMENT_TOTALS: dict[str, str] = {
    "poem": "poem_total",
    "dlqi": "dlqi_total",
    "ibs-sss": "ibs_sss_total",
    "isi": "isi_total",
    "pss-10": "pss10_total",
    "pss-4": "pss4_total",
}


def facts_from_intake(
    *,
    intake_answers: Mapping[str, Any],
    scores: Mapping[str, Mapping[str, Any]],
    red_flags: list[Mapping[str, str]],
) -> IntakeFacts:
    """Build the facts from the latest intake's answers, the latest score of each instrument
    (`{"poem": {"total": ..., "band": ..., "subscales": {...}}, ...}`) and the intake's flags."""
    values: dict[str, Any] = {
        fact: intake_answers.get(link_id) for fact, link_id in INTAKE_LINK_IDS.items()
    }
    for slug, fact in INSTRUMENT_TOTALS.items():
        values[fact] = (scores.get(slug) or {}).get("total")
    values["gsrs_syndromes"] = dict((scores.get("gsrs") or {}).get("subscales") or {})
    values["red_flags"] = tuple(red_flags)
    return IntakeFacts(**values)
