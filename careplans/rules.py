"""The care-plan rule set: from a patient's latest intake and scores to a draft plan.

Plain Python, no Django: each rule has a stable `code`, a `version`, a condition over named facts
(`IntakeFacts`), and the activity or goal it produces with patient-facing instructions. Every
activity records the rule that produced it and, in words a clinician can check, the answers and
scores that fired it ("fibre-rich foods: 1 serving a day").

A rule whose inputs are unanswered does not fire: a draft never claims a problem the patient did
not report. The clinician edits the draft before anything reaches the patient.

Every rule cites its sources (`Rule.sources`, keys of `REFERENCES`). Safety limits live in the
rules themselves: fibre and prebiotic advice change with IBS severity (IBS-SSS >= 175: soluble
fibre, no bran or high-FODMAP foods, no prebiotic foods; BSG 2021, NICE CG61), an elimination
trial runs only with a dietitian and never removes gluten before coeliac testing (NICE NG20).
Goal wording names the instrument that fired the goal and the patient's own condition.

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
    # What the clinician adds by hand without choosing one of the above.
    CUSTOM = "custom"


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
    # The intake's skin-concerns codes ("eczema", "acne", ...), in the order answered.
    skin_concerns: tuple[str, ...] | None = None
    # Instrument totals (None when not answered or not scored).
    poem_total: int | None = None
    dlqi_total: int | None = None
    ibs_sss_total: int | None = None
    gsrs_total: float | None = None  # the mean of the answered items (1-7)
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
    # What the patient reads: the score, named by instrument and their own condition
    # ("your acne's effect on your daily life (DLQI score)").
    measure: str = ""

    def wording(self) -> dict[str, str]:
        """The values a goal rule's instructions are filled with."""
        baseline = "" if self.baseline is None else f", from {self.baseline:g}"
        return {
            "measure": self.measure,
            "target_change": f"{self.target_change:g}",
            "from_baseline": baseline,
            "weeks": str(self.weeks),
            "questionnaire": INSTRUMENT_NAMES[self.instrument],
            "repeat_every_weeks": str(self.repeat_every_weeks),
        }


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
    # Goal rules fill `{measure}`, `{target_change}`, ... from their GoalSpec.wording().
    instructions: str
    condition: Condition
    sources: tuple[str, ...]  # keys of REFERENCES
    goal: Callable[[IntakeFacts], GoalSpec] | None = None
    # A safety limit, in words: when the rule stays silent although `fires_when` holds.
    unless: str = ""

    def apply(self, facts: IntakeFacts) -> Activity | None:
        evidence = self.condition(facts)
        if not evidence:
            return None
        goal = self.goal(facts) if self.goal else None
        return Activity(
            code=self.code,
            rule_version=self.version,
            category=self.category,
            title=self.title,
            instructions=self.instructions.format(**goal.wording()) if goal else self.instructions,
            rationale=f"Suggested because {self.fires_when}.",
            evidence=tuple(evidence),
            goal=goal,
        )


# --- evidence helpers: each returns a sentence when its threshold is met, else None ----------


def _plural(count: float | int, one: str, many: str) -> str:
    return one if count == 1 else many


def _amount(value: float | int, label: str, unit: tuple[str, str]) -> str:
    """How an intake answer is worded as evidence: "fibre: 2 servings a day"."""
    return f"{label}: {value:g} {_plural(value, *unit)}"


def _below(
    value: float | int | None, limit: float, label: str, unit: tuple[str, str]
) -> str | None:
    return None if value is None or value >= limit else _amount(value, label, unit)


def _at_least(
    value: float | int | None, limit: float, label: str, unit: tuple[str, str]
) -> str | None:
    return None if value is None or value < limit else _amount(value, label, unit)


def _above(
    value: float | int | None, limit: float, label: str, unit: tuple[str, str]
) -> str | None:
    return None if value is None or value <= limit else _amount(value, label, unit)


def _yes(value: bool | None, sentence: str) -> str | None:
    return sentence if value is True else None


def _score_at_least(value: float | int | None, limit: float, instrument: str) -> str | None:
    if value is None or value < limit:
        return None
    return f"{instrument} score: {value:g}"


def _evidence(*sentences: str | None) -> list[str]:
    """Any condition that held (the rule fires when one does)."""
    return [sentence for sentence in sentences if sentence]


def _all_of(*sentences: str | None) -> list[str]:
    """Every condition, or nothing when one did not hold (the rule fires only when all do)."""
    held = [sentence for sentence in sentences if sentence]
    return held if len(held) == len(sentences) else []


_SERVING = ("serving a day", "servings a day")
_PER_WEEK = ("time a week", "times a week")
_PER_DAY = ("a day", "a day")


def _fibre_low(facts: IntakeFacts) -> str | None:
    return _below(facts.fibre_servings_daily, 5, "fibre-rich foods", _SERVING)


# IBS-SSS 175 and over is moderate (175-299) or severe (300+) IBS (Francis et al. 1997).
IBS_MODERATE = 175


def _ibs_moderate_or_severe(facts: IntakeFacts) -> str | None:
    return _score_at_least(facts.ibs_sss_total, IBS_MODERATE, "IBS-SSS")


def _unless_ibs_moderate_or_severe(evidence: list[str], facts: IntakeFacts) -> list[str]:
    """No evidence (the rule does not fire) when IBS symptoms are moderate or severe."""
    return [] if _ibs_moderate_or_severe(facts) else evidence


def _food_reaction(facts: IntakeFacts) -> list[str]:
    return _evidence(
        _yes(facts.dairy_reaction, "reaction to dairy reported"),
        _yes(facts.gluten_reaction, "reaction to gluten reported"),
    )


# --- goals: the instrument that fired, its baseline, the patient's own condition ------------

INSTRUMENT_NAMES = {
    "poem": "POEM skin questionnaire",
    "dlqi": "DLQI skin quality-of-life questionnaire",
    "ibs-sss": "IBS-SSS gut symptom questionnaire",
    "gsrs": "GSRS gut symptom questionnaire",
}

SKIN_CONDITION_WORDS = {
    "eczema": "eczema",
    "psoriasis": "psoriasis",
    "acne": "acne",
    "rosacea": "rosacea",
    "dryness": "dry skin",
    "other": "skin condition",
}


def _skin_conditions(facts: IntakeFacts) -> str:
    """The patient's skin concerns in words ("acne and rosacea"); "skin condition" if none."""
    words = list(dict.fromkeys(SKIN_CONDITION_WORDS[c] for c in facts.skin_concerns or ()))
    if not words:
        return "skin condition"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _reports_eczema(facts: IntakeFacts) -> bool:
    return "eczema" in (facts.skin_concerns or ())


def _poem_high(facts: IntakeFacts) -> bool:
    return facts.poem_total is not None and facts.poem_total >= 8


def _dlqi_high(facts: IntakeFacts) -> bool:
    return facts.dlqi_total is not None and facts.dlqi_total >= 6


def _skin_goal(facts: IntakeFacts) -> GoalSpec:
    """POEM is an eczema measure: it sets the goal for a patient who reports eczema, or when it
    is the only high score; otherwise the DLQI does, worded for the patient's own condition."""
    if _poem_high(facts) and (_reports_eczema(facts) or not _dlqi_high(facts)):
        condition = "eczema" if _reports_eczema(facts) else "skin"
        return GoalSpec(
            "poem",
            3.4,
            weeks=8,
            repeat_every_weeks=2,
            baseline=facts.poem_total,
            measure=f"your {condition} symptom score (POEM)",
        )
    return GoalSpec(
        "dlqi",
        4,
        weeks=8,
        repeat_every_weeks=2,
        baseline=facts.dlqi_total,
        measure=f"how much your {_skin_conditions(facts)} affects your daily life (DLQI score)",
    )


def _gi_goal(facts: IntakeFacts) -> GoalSpec:
    """IBS-SSS when it fired the rule; otherwise the GSRS, whose syndrome mean fired it, with the
    GSRS total (the mean of its items, the score the timeline tracks) as the baseline."""
    if _ibs_moderate_or_severe(facts):
        return GoalSpec(
            "ibs-sss",
            50,
            weeks=8,
            repeat_every_weeks=4,
            baseline=facts.ibs_sss_total,
            measure="your IBS symptom severity score (IBS-SSS)",
        )
    return GoalSpec(
        "gsrs",
        0.5,
        weeks=8,
        repeat_every_weeks=4,
        baseline=facts.gsrs_total,
        measure="your gut symptom score (GSRS, the average of its 1-7 ratings)",
    )


def _gsrs_high(facts: IntakeFacts) -> list[str]:
    return [
        f"GSRS {name.replace('_', ' ')} score: {mean:g}"
        for name, mean in sorted(facts.gsrs_syndromes.items())
        if mean is not None and mean >= 4
    ]


_GOAL_INSTRUCTIONS = (
    "Together we aim to bring {measure} down by at least {target_change} points{from_baseline}, "
    "in {weeks} weeks. We will ask you to repeat the {questionnaire} every {repeat_every_weeks} "
    "weeks."
)

# --- the rule set ------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        code="fiber",
        version=2,
        category=Category.NUTRITION,
        fires_when="fibre-rich foods are fewer than 5 servings a day",
        unless="IBS-SSS is 175 or more (moderate or severe IBS): `fiber_soluble` instead",
        title="Raise fibre gradually",
        instructions=(
            "Add one extra serving of fibre-rich food every few days until you reach at least "
            "five a day: leafy greens, berries, legumes and whole grains. Go slowly and drink "
            "water with it, so your gut can adjust."
        ),
        condition=lambda f: _unless_ibs_moderate_or_severe(_evidence(_fibre_low(f)), f),
        sources=("SACN 2015", "NICE CG61"),
    ),
    Rule(
        code="fiber_soluble",
        version=1,
        category=Category.NUTRITION,
        fires_when=(
            "fibre-rich foods are fewer than 5 servings a day and IBS-SSS is 175 or more "
            "(moderate or severe IBS)"
        ),
        title="Raise soluble fibre gently",
        instructions=(
            "Add soluble fibre slowly: porridge oats, or a psyllium (ispaghula) supplement "
            "started at a small dose with plenty of water, and fruit and vegetables that are "
            "gentle on the gut, such as kiwi, oranges, carrots and spinach. Avoid bran and bran "
            "cereals, and hold back high-FODMAP foods such as beans, lentils, onions, garlic and "
            "wheat-based bread for now: with gut symptoms like yours they often make bloating "
            "and pain worse."
        ),
        condition=lambda f: _all_of(_fibre_low(f), _ibs_moderate_or_severe(f)),
        sources=("BSG 2021", "NICE CG61", "Francis 1997"),
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
        sources=("Wastyk 2021",),
    ),
    Rule(
        code="prebiotic_foods",
        version=2,
        category=Category.PREBIOTIC_FOODS,
        fires_when="fibre is low or antibiotics were taken in the last 3 months",
        unless=(
            "IBS-SSS is 175 or more: these foods are high-FODMAP, and prebiotics do not help IBS"
        ),
        title="Feed your gut bacteria with prebiotic foods",
        instructions=(
            "Include prebiotic foods such as garlic, onions, oats, asparagus, leeks and slightly "
            "green bananas in your meals most days."
        ),
        condition=lambda f: _unless_ibs_moderate_or_severe(
            _evidence(
                _fibre_low(f),
                _yes(f.antibiotics_last_3_months, "antibiotics in the last 3 months"),
            ),
            f,
        ),
        sources=("ISAPP 2017", "Wilson 2019", "BSG 2021"),
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
        sources=("WHO sugars 2015", "Hall 2019"),
    ),
    Rule(
        code="elimination_trial",
        version=2,
        category=Category.ELIMINATION_TRIAL,
        fires_when="a reaction to dairy or gluten is reported",
        title="Dietitian-supported elimination and reintroduction trial",
        instructions=(
            "Your dietitian plans this trial with you: do not start it until you have seen "
            "them. Together you remove one suspected food for a set time, then bring it back "
            "and note how your skin and gut respond. If gluten is one of the suspected foods, "
            "keep eating gluten every day until your coeliac disease blood test has been done: "
            "cutting it out first can make the test falsely normal. Do not cut out food groups "
            "long-term without guidance."
        ),
        condition=_food_reaction,
        sources=("NICE NG20", "BSG 2021", "NICE CG61"),
    ),
    Rule(
        code="dietitian_referral",
        version=1,
        category=Category.REFERRAL,
        fires_when="a reaction to dairy or gluten is reported (an elimination trial is proposed)",
        title="Referral to a dietitian",
        instructions=(
            "We will refer you to a registered dietitian, who runs your elimination and "
            "reintroduction trial with you and makes sure your diet stays complete."
        ),
        condition=_food_reaction,
        sources=("BSG 2021", "NICE CG61"),
    ),
    Rule(
        code="coeliac_testing",
        version=1,
        category=Category.FOLLOW_UP,
        fires_when="a reaction to gluten is reported",
        title="Coeliac disease blood test before any change to gluten",
        instructions=(
            "We will arrange a coeliac disease blood test. Until it is done, keep eating foods "
            "that contain gluten, such as bread or pasta, in more than one meal every day: the "
            "test only works while you are eating gluten."
        ),
        condition=lambda f: _evidence(_yes(f.gluten_reaction, "reaction to gluten reported")),
        sources=("NICE NG20",),
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
        sources=("NICE CG61", "NIAAA"),
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
        sources=("NICE CG61",),
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
        sources=("Watson 2015", "Bastien 2001"),
    ),
    Rule(
        code="cbt_i_referral",
        version=1,
        category=Category.REFERRAL,
        fires_when="the ISI score is 15 or more (moderate or severe clinical insomnia)",
        title="Referral for CBT for insomnia (CBT-I)",
        instructions=(
            "We will refer you for cognitive behavioural therapy for insomnia (CBT-I), the "
            "first treatment recommended for long-lasting insomnia: a short course, in person or "
            "online, that resets your sleep pattern and eases the worries that keep you awake."
        ),
        condition=lambda f: _evidence(_score_at_least(f.isi_total, 15, "Insomnia Severity Index")),
        sources=("Bastien 2001", "ACP 2016", "AASM 2021"),
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
        sources=("Cohen 1983", "BSG 2021"),
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
        sources=("WHO activity 2020",),
    ),
    Rule(
        code="skin_goal",
        version=2,
        category=Category.FOLLOW_UP,
        fires_when=(
            "POEM is 8 or more or DLQI is 6 or more (the goal uses POEM for a patient who "
            "reports eczema or has no high DLQI, else DLQI)"
        ),
        title="Skin goal: a meaningful improvement in 8 weeks",
        instructions=_GOAL_INSTRUCTIONS,
        condition=lambda f: _evidence(
            _score_at_least(f.poem_total, 8, "POEM"), _score_at_least(f.dlqi_total, 6, "DLQI")
        ),
        sources=("Charman 2013", "Schram 2012", "Hongbo 2005", "Basra 2015"),
        goal=_skin_goal,
    ),
    Rule(
        code="gi_goal",
        version=2,
        category=Category.FOLLOW_UP,
        fires_when=(
            "IBS-SSS is 175 or more or a GSRS syndrome mean is 4 or more (the goal uses the "
            "instrument that fired, IBS-SSS first)"
        ),
        title="Gut goal: a meaningful improvement in 8 weeks",
        instructions=_GOAL_INSTRUCTIONS,
        condition=lambda f: _evidence(_ibs_moderate_or_severe(f)) + _gsrs_high(f),
        sources=("Francis 1997", "Svedlund 1988", "Jaeschke 1989"),
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
        sources=("NICE NG12", "NICE CG61", "Rome IV"),
    ),
)

# Full citations for `Rule.sources`; docs/care-plan-rules.md lists them.
REFERENCES: dict[str, str] = {
    "AASM 2021": (
        "Edinger JD, Arnedt JT, Bertisch SM, et al. Behavioral and psychological treatments "
        "for chronic insomnia disorder in adults: an American Academy of Sleep Medicine "
        "clinical practice guideline. J Clin Sleep Med. 2021;17:255-262. CBT-I is recommended."
    ),
    "ACP 2016": (
        "Qaseem A, Kansagara D, Forciea MA, et al. Management of chronic insomnia disorder in "
        "adults: a clinical practice guideline from the American College of Physicians. Ann "
        "Intern Med. 2016;165:125-133. CBT-I as the first-line treatment."
    ),
    "BSG 2021": (
        "Vasant DH, Paine PA, Black CJ, et al. British Society of Gastroenterology guidelines "
        "on the management of irritable bowel syndrome. Gut. 2021;70:1214-1240. Soluble fibre "
        "(ispaghula) for IBS, insoluble fibre such as wheat bran avoided; a low-FODMAP diet "
        "only under a trained dietitian; psychological therapies."
    ),
    "Basra 2015": (
        "Basra MKA, Salek MS, Camilleri L, Sturkey R, Finlay AY. Determining the minimal "
        "clinically important difference and responsiveness of the Dermatology Life Quality "
        "Index (DLQI). Dermatology. 2015;230:27-33. MCID: 4 points."
    ),
    "Bastien 2001": (
        "Bastien CH, Vallières A, Morin CM. Validation of the Insomnia Severity Index as an "
        "outcome measure for insomnia research. Sleep Med. 2001;2:297-307. 8-14 subthreshold "
        "insomnia, 15-21 moderate and 22-28 severe clinical insomnia."
    ),
    "Charman 2013": (
        "Charman CR, Venn AJ, Ravenscroft JC, Williams HC. Translating Patient-Oriented Eczema "
        "Measure (POEM) scores into clinical practice by suggesting severity strata. Br J "
        "Dermatol. 2013;169:1326-1332. 8-16 is moderate eczema."
    ),
    "Cohen 1983": (
        "Cohen S, Kamarck T, Mermelstein R. A global measure of perceived stress. J Health Soc "
        "Behav. 1983;24:385-396. The PSS has no published cut-offs; ours are the clinic's."
    ),
    "Francis 1997": (
        "Francis CY, Morris J, Whorwell PJ. The irritable bowel severity scoring system: a "
        "simple method of monitoring irritable bowel syndrome and its progress. Aliment "
        "Pharmacol Ther. 1997;11:395-402. 75-174 mild, 175-299 moderate, 300+ severe; a fall "
        "of 50 points is a clinically meaningful improvement."
    ),
    "Hall 2019": (
        "Hall KD, Ayuketah A, Brychta R, et al. Ultra-processed diets cause excess calorie "
        "intake and weight gain. Cell Metab. 2019;30:67-77."
    ),
    "Hongbo 2005": (
        "Hongbo Y, Thomas CL, Harrison MA, Salek MS, Finlay AY. Translating the science of "
        "quality of life into practice: what do Dermatology Life Quality Index scores mean? "
        "J Invest Dermatol. 2005;125:659-664. 6-10 is a moderate effect on the patient's life."
    ),
    "ISAPP 2017": (
        "Gibson GR, Hutkins R, Sanders ME, et al. Expert consensus document: the International "
        "Scientific Association for Probiotics and Prebiotics (ISAPP) consensus statement on "
        "the definition and scope of prebiotics. Nat Rev Gastroenterol Hepatol. "
        "2017;14:491-502."
    ),
    "Jaeschke 1989": (
        "Jaeschke R, Singer J, Guyatt GH. Measurement of health status: ascertaining the "
        "minimal clinically important difference. Control Clin Trials. 1989;10:407-415. About "
        "0.5 per item on a 7-point scale; applied to the GSRS mean, for which no "
        "instrument-specific MCID is established."
    ),
    "NIAAA": (
        "National Institute on Alcohol Abuse and Alcoholism. Rethinking Drinking: low-risk "
        "drinking limits (no more than 7 drinks a week for women, 14 for men). We use the "
        "lower limit for everyone."
    ),
    "NICE CG61": (
        "NICE CG61. Irritable bowel syndrome in adults: diagnosis and management (2008, updated "
        "2017), section 1.2.1 dietary and lifestyle advice: regular meals, at least 8 cups of "
        "fluid a day, at most 3 cups of tea or coffee, less alcohol, less insoluble fibre such "
        "as bran (soluble fibre such as ispaghula or oats if fibre is needed), dietitian "
        "referral for diet manipulation; section 1.1.1 red flag indicators."
    ),
    "NICE NG12": (
        "NICE NG12. Suspected cancer: recognition and referral (2015, updated 2023), lower and "
        "upper gastrointestinal cancers."
    ),
    "NICE NG20": (
        "NICE NG20. Coeliac disease: recognition, assessment and management (2015), section "
        "1.1: serological testing for people with IBS-type symptoms, done while they eat gluten "
        "in more than one meal every day for at least 6 weeks; do not start a gluten-free diet "
        "before the diagnosis is confirmed."
    ),
    "Rome IV": (
        "Lacy BE, Mearin F, Chang L, et al. Bowel disorders. Gastroenterology. "
        "2016;150:1393-1407. Alarm features."
    ),
    "SACN 2015": (
        "Scientific Advisory Committee on Nutrition. Carbohydrates and Health. London: TSO; "
        "2015. 30 g of fibre a day for adults."
    ),
    "Schram 2012": (
        "Schram ME, Spuls PI, Leeflang MMG, et al. EASI, (objective) SCORAD and POEM for "
        "atopic eczema: responsiveness and minimal clinically important difference. Allergy. "
        "2012;67:99-106. POEM MCID: 3.4 points."
    ),
    "Svedlund 1988": (
        "Svedlund J, Sjödin I, Dotevall G. GSRS: a clinical rating scale for gastrointestinal "
        "symptoms in patients with irritable bowel syndrome and peptic ulcer disease. Dig Dis "
        "Sci. 1988;33:129-134. Syndrome means of 4 or more (moderate discomfort) are the "
        "clinic's threshold."
    ),
    "WHO activity 2020": (
        "Bull FC, Al-Ansari SS, Biddle S, et al. World Health Organization 2020 guidelines on "
        "physical activity and sedentary behaviour. Br J Sports Med. 2020;54:1451-1462. "
        "150-300 minutes of moderate activity a week."
    ),
    "WHO sugars 2015": (
        "World Health Organization. Guideline: sugars intake for adults and children. Geneva: "
        "WHO; 2015. Free sugars under 10% of energy."
    ),
    "Wastyk 2021": (
        "Wastyk HC, Fragiadakis GK, Perelman D, et al. Gut-microbiota-targeted diets modulate "
        "human immune status. Cell. 2021;184:4137-4153. A fermented-food diet raised "
        "microbiome diversity and lowered inflammatory markers; the threshold is the clinic's."
    ),
    "Watson 2015": (
        "Watson NF, Badr MS, Belenky G, et al. Recommended amount of sleep for a healthy adult: "
        "a joint consensus statement of the American Academy of Sleep Medicine and Sleep "
        "Research Society. Sleep. 2015;38:843-844. 7 or more hours a night."
    ),
    "Wilson 2019": (
        "Wilson B, Rossi M, Dimidi E, Whelan K. Prebiotics in irritable bowel syndrome and "
        "other functional bowel disorders in adults: a systematic review and meta-analysis of "
        "randomized controlled trials. Am J Clin Nutr. 2019;109:1098-1111. No benefit on IBS "
        "symptoms; many prebiotic foods are high-FODMAP."
    ),
}

RULES_BY_CODE = {rule.code: rule for rule in RULES}


def draft_activities(facts: IntakeFacts) -> list[Activity]:
    """Every activity the rule set suggests for these facts, in rule order."""
    return [activity for rule in RULES if (activity := rule.apply(facts)) is not None]


def rules_markdown() -> str:
    """The rule set as a table a clinician can read, with its sources (docs/care-plan-rules.md)."""
    lines = [
        "# Care-plan rules",
        "",
        "Generated from `careplans/rules.py` by `python -m careplans.rules`; do not",
        "edit by hand (a test fails when this file and the code disagree). A rule whose inputs",
        "were not answered does not fire.",
        "",
        "| code | version | category | fires when | activity | patient instructions | sources |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        unless = f"; **not when** {rule.unless}" if rule.unless else ""
        lines.append(
            f"| `{rule.code}` | {rule.version} | {rule.category} | {rule.fires_when}{unless} "
            f"| {rule.title} | {rule.instructions} | {'; '.join(rule.sources)} |"
        )
    lines += [
        "",
        "## Goal wording",
        "",
        "Goal rules fill `{measure}` with the instrument that fired the goal and the patient's",
        "own condition, `{from_baseline}` with its baseline score, and `{questionnaire}` with:",
        "",
        *(f"- `{slug}`: {name}" for slug, name in INSTRUMENT_NAMES.items()),
        "",
        "Skin conditions are named from the intake's skin concerns: "
        + ", ".join(f"{code} → {words}" for code, words in SKIN_CONDITION_WORDS.items())
        + '; none → "skin condition".',
        "",
        "## Sources",
        "",
        *(f"- **{key}**: {citation}" for key, citation in sorted(REFERENCES.items())),
    ]
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
    "skin_concerns": "skin-concerns",
}

# Instrument slug -> the fact holding its total.
INSTRUMENT_TOTALS: dict[str, str] = {
    "poem": "poem_total",
    "dlqi": "dlqi_total",
    "ibs-sss": "ibs_sss_total",
    "gsrs": "gsrs_total",
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
    concerns = values["skin_concerns"]
    values["skin_concerns"] = tuple(concerns) if isinstance(concerns, list) else None
    values["red_flags"] = tuple(red_flags)
    return IntakeFacts(**values)
