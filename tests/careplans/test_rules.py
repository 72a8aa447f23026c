"""Each care-plan rule fires exactly at its PRODUCT.md threshold, with evidence a clinician can
check; an intake touching every rule yields the full plan; unanswered inputs never fire.

Safety limits (issue #10), each at its threshold: fibre and prebiotic advice change at IBS-SSS
175 (moderate IBS; Francis et al. 1997): soluble fibre, no bran or high-FODMAP foods, no
prebiotic foods (BSG 2021, NICE CG61 1.2.1, Wilson et al. 2019); the elimination trial keeps
gluten until coeliac testing (NICE NG20 1.1) and runs with a dietitian; ISI 15 (moderate
clinical insomnia; Bastien et al. 2001) adds a CBT-I referral (ACP 2016, AASM 2021); goals use
the instrument that fired them, with its baseline, worded for the patient's condition."""

from __future__ import annotations

from dataclasses import replace

import pytest

from careplans.rules import (
    REFERENCES,
    RULES,
    IntakeFacts,
    draft_activities,
    facts_from_intake,
    rules_markdown,
)

HEALTHY = IntakeFacts(
    fibre_servings_daily=6,
    fermented_foods_weekly=4,
    added_sugar_daily=1,
    processed_foods_weekly=2,
    dairy_reaction=False,
    gluten_reaction=False,
    alcohol_drinks_weekly=3,
    caffeinated_drinks_daily=2,
    water_glasses_daily=8,
    sleep_hours_nightly=7.5,
    exercise_minutes_weekly=200,
    stress_rating=3,
    antibiotics_last_3_months=False,
    poem_total=5,
    dlqi_total=3,
    ibs_sss_total=100,
    gsrs_syndromes={"reflux": 2.0, "diarrhoea": 1.5},
    isi_total=4,
    pss10_total=10,
    pss4_total=5,
)


def codes(facts: IntakeFacts) -> set[str]:
    return {activity.code for activity in draft_activities(facts)}


def test_a_healthy_intake_drafts_nothing():
    assert codes(HEALTHY) == set()


def test_an_unanswered_intake_drafts_nothing():
    assert codes(IntakeFacts()) == set()


# (rule, change that just fires, change that just does not fire)
MODERATE_IBS, MILD_IBS = {"ibs_sss_total": 175}, {"ibs_sss_total": 174}
LOW_FIBRE = {"fibre_servings_daily": 4}
THRESHOLDS = [
    ("fiber", {"fibre_servings_daily": 4}, {"fibre_servings_daily": 5}),
    ("fiber", LOW_FIBRE | MILD_IBS, LOW_FIBRE | MODERATE_IBS),
    ("fiber_soluble", LOW_FIBRE | MODERATE_IBS, LOW_FIBRE | MILD_IBS),
    ("fiber_soluble", LOW_FIBRE | MODERATE_IBS, {"fibre_servings_daily": 5} | MODERATE_IBS),
    ("fermented_foods", {"fermented_foods_weekly": 2}, {"fermented_foods_weekly": 3}),
    ("prebiotic_foods", {"fibre_servings_daily": 4}, {"fibre_servings_daily": 5}),
    ("prebiotic_foods", {"antibiotics_last_3_months": True}, {"antibiotics_last_3_months": False}),
    (
        "prebiotic_foods",
        {"antibiotics_last_3_months": True} | MILD_IBS,
        {"antibiotics_last_3_months": True} | MODERATE_IBS,
    ),
    ("prebiotic_foods", LOW_FIBRE | MILD_IBS, LOW_FIBRE | MODERATE_IBS),
    ("reduce_sugar_processed", {"added_sugar_daily": 2}, {"added_sugar_daily": 1}),
    ("reduce_sugar_processed", {"processed_foods_weekly": 5}, {"processed_foods_weekly": 4}),
    ("elimination_trial", {"dairy_reaction": True}, {"dairy_reaction": False}),
    ("elimination_trial", {"gluten_reaction": True}, {"gluten_reaction": None}),
    ("dietitian_referral", {"dairy_reaction": True}, {"dairy_reaction": False}),
    ("dietitian_referral", {"gluten_reaction": True}, {"gluten_reaction": False}),
    ("coeliac_testing", {"gluten_reaction": True}, {"gluten_reaction": False}),
    ("coeliac_testing", {"gluten_reaction": True}, {"dairy_reaction": True}),
    ("reduce_alcohol_caffeine", {"alcohol_drinks_weekly": 8}, {"alcohol_drinks_weekly": 7}),
    ("reduce_alcohol_caffeine", {"caffeinated_drinks_daily": 4}, {"caffeinated_drinks_daily": 3}),
    ("hydration", {"water_glasses_daily": 5}, {"water_glasses_daily": 6}),
    ("sleep", {"sleep_hours_nightly": 6.5}, {"sleep_hours_nightly": 7}),
    ("sleep", {"isi_total": 8}, {"isi_total": 7}),
    ("cbt_i_referral", {"isi_total": 15}, {"isi_total": 14}),
    ("stress", {"stress_rating": 7}, {"stress_rating": 6}),
    ("stress", {"pss10_total": 14}, {"pss10_total": 13}),
    ("stress", {"pss4_total": 8}, {"pss4_total": 7}),
    ("movement", {"exercise_minutes_weekly": 149}, {"exercise_minutes_weekly": 150}),
    ("skin_goal", {"poem_total": 8}, {"poem_total": 7}),
    ("skin_goal", {"dlqi_total": 6}, {"dlqi_total": 5}),
    ("gi_goal", {"ibs_sss_total": 175}, {"ibs_sss_total": 174}),
    ("gi_goal", {"gsrs_syndromes": {"reflux": 4.0}}, {"gsrs_syndromes": {"reflux": 3.9}}),
    (
        "urgent_review",
        {"red_flags": ({"code": "gi_rectal_bleeding", "label": "Rectal bleeding"},)},
        {"red_flags": ()},
    ),
]


@pytest.mark.parametrize(("code", "fires", "does_not_fire"), THRESHOLDS)
def test_each_rule_fires_at_its_threshold_and_not_below(code, fires, does_not_fire):
    assert code in codes(replace(HEALTHY, **fires))
    assert code not in codes(replace(HEALTHY, **does_not_fire))


def test_every_rule_has_a_threshold_test():
    assert {rule.code for rule in RULES} == {code for code, _, _ in THRESHOLDS}


EVERYTHING = IntakeFacts(
    fibre_servings_daily=1,
    fermented_foods_weekly=0,
    added_sugar_daily=4,
    processed_foods_weekly=9,
    dairy_reaction=True,
    gluten_reaction=True,
    alcohol_drinks_weekly=12,
    caffeinated_drinks_daily=5,
    water_glasses_daily=2,
    sleep_hours_nightly=5,
    exercise_minutes_weekly=30,
    stress_rating=9,
    antibiotics_last_3_months=True,
    poem_total=18,
    dlqi_total=12,
    ibs_sss_total=320,
    gsrs_syndromes={"abdominal_pain": 5.0},
    isi_total=16,
    pss10_total=25,
    pss4_total=10,
    red_flags=({"code": "gi_rectal_bleeding", "label": "Rectal bleeding"},),
)
# Moderate or severe IBS swaps the general fibre and prebiotic advice for soluble fibre.
GENERAL_FIBRE_ADVICE = {"fiber", "prebiotic_foods"}


def test_an_intake_touching_every_rule_yields_the_full_plan():
    assert [activity.code for activity in draft_activities(EVERYTHING)] == [
        rule.code for rule in RULES if rule.code not in GENERAL_FIBRE_ADVICE
    ]
    with_mild_ibs = replace(EVERYTHING, ibs_sss_total=120)
    assert [activity.code for activity in draft_activities(with_mild_ibs)] == [
        rule.code for rule in RULES if rule.code != "fiber_soluble"
    ]


def test_evidence_names_the_triggering_answers_in_words():
    activities = {a.code: a for a in draft_activities(replace(HEALTHY, fibre_servings_daily=1))}

    assert activities["fiber"].evidence == ("fibre-rich foods: 1 serving a day",)
    assert activities["fiber"].rationale == (
        "Suggested because fibre-rich foods are fewer than 5 servings a day."
    )
    assert activities["prebiotic_foods"].evidence == ("fibre-rich foods: 1 serving a day",)


def test_evidence_lists_every_condition_that_held():
    facts = replace(HEALTHY, stress_rating=8, pss10_total=20, pss4_total=4)

    (stress,) = [a for a in draft_activities(facts) if a.code == "stress"]

    assert stress.evidence == ("stress: 8 out of 10", "Perceived Stress Scale (10) score: 20")


def test_the_skin_goal_targets_poem_and_repeats_every_two_weeks():
    (goal,) = [a.goal for a in draft_activities(replace(HEALTHY, poem_total=12)) if a.goal]

    assert (goal.instrument, goal.target_change, goal.weeks, goal.repeat_every_weeks) == (
        "poem",
        3.4,
        8,
        2,
    )
    assert goal.baseline == 12


def test_the_skin_goal_falls_back_to_dlqi_when_only_dlqi_is_high():
    (goal,) = [a.goal for a in draft_activities(replace(HEALTHY, dlqi_total=9)) if a.goal]

    assert (goal.instrument, goal.target_change, goal.baseline) == ("dlqi", 4, 9)


def test_the_gi_goal_targets_ibs_sss_every_four_weeks():
    (goal,) = [a.goal for a in draft_activities(replace(HEALTHY, ibs_sss_total=250)) if a.goal]

    assert (goal.instrument, goal.target_change, goal.repeat_every_weeks, goal.baseline) == (
        "ibs-sss",
        50,
        4,
        250,
    )


def test_a_red_flag_is_named_in_the_urgent_review_evidence():
    flag = {"code": "derm_eczema_herpeticum", "label": "Painful spreading blisters on eczema"}

    (review,) = [
        a
        for a in draft_activities(replace(HEALTHY, red_flags=(flag,)))
        if a.code == "urgent_review"
    ]

    assert review.evidence == ("red flag: Painful spreading blisters on eczema",)


def test_the_rules_document_is_generated_from_the_code():
    from pathlib import Path

    document = Path(__file__).resolve().parents[2] / "docs" / "care-plan-rules.md"

    assert document.read_text() == rules_markdown(), (
        "docs/care-plan-rules.md is stale: run `python -m careplans.rules`"
    )


# --- safety limits ---------------------------------------------------------------------------


def by_code(facts: IntakeFacts) -> dict:
    return {activity.code: activity for activity in draft_activities(facts)}


def test_moderate_ibs_gets_soluble_fibre_and_no_bran_or_high_fodmap_advice():
    activities = by_code(replace(HEALTHY, fibre_servings_daily=2, ibs_sss_total=175))

    soluble = activities["fiber_soluble"]
    assert "psyllium" in soluble.instructions
    assert "oats" in soluble.instructions
    assert "Avoid bran" in soluble.instructions
    assert soluble.evidence == ("fibre-rich foods: 2 servings a day", "IBS-SSS score: 175")
    advised = " ".join(a.instructions for a in activities.values() if a.code != "fiber_soluble")
    for high_fodmap in ("legumes", "garlic", "onions", "asparagus", "leeks"):
        assert high_fodmap not in advised


def test_mild_ibs_keeps_the_general_fibre_advice():
    activities = by_code(replace(HEALTHY, fibre_servings_daily=2, ibs_sss_total=174))

    assert "legumes" in activities["fiber"].instructions
    assert "fiber_soluble" not in activities


def test_the_elimination_trial_keeps_gluten_until_coeliac_testing_and_needs_a_dietitian():
    activities = by_code(replace(HEALTHY, gluten_reaction=True))

    trial = activities["elimination_trial"].instructions
    assert "keep eating gluten every day until your coeliac disease blood test" in trial
    assert "do not start it until you have seen them" in trial
    assert "dietitian" in activities["dietitian_referral"].instructions
    assert "keep eating foods that contain gluten" in activities["coeliac_testing"].instructions
    assert {"elimination_trial", "dietitian_referral"} <= set(
        by_code(replace(HEALTHY, dairy_reaction=True))
    )


def test_severe_insomnia_adds_a_cbt_i_referral_as_well_as_sleep_advice():
    activities = by_code(replace(HEALTHY, isi_total=15))

    assert activities["cbt_i_referral"].category == "referral"
    assert "CBT-I" in activities["cbt_i_referral"].instructions
    assert activities["cbt_i_referral"].evidence == ("Insomnia Severity Index score: 15",)
    assert "sleep" in activities


def goal_activity(facts: IntakeFacts, code: str):
    return by_code(facts)[code]


class TestGoalsUseTheInstrumentThatFiredThem:
    def test_ibs_sss_at_175_sets_an_ibs_sss_goal_from_its_baseline(self):
        activity = goal_activity(replace(HEALTHY, ibs_sss_total=175), "gi_goal")

        goal = activity.goal
        assert (goal.instrument, goal.baseline, goal.target_change) == ("ibs-sss", 175, 50)
        assert "IBS-SSS" in activity.instructions
        assert "from 175" in activity.instructions

    def test_a_gsrs_syndrome_at_4_sets_a_gsrs_goal_from_the_gsrs_total(self):
        facts = replace(HEALTHY, gsrs_syndromes={"reflux": 4.0}, gsrs_total=2.8)

        activity = goal_activity(facts, "gi_goal")

        goal = activity.goal
        assert (goal.instrument, goal.baseline, goal.target_change) == ("gsrs", 2.8, 0.5)
        assert (goal.repeat_every_weeks, goal.weeks) == (4, 8)
        assert "GSRS" in activity.instructions
        assert "IBS" not in activity.instructions

    def test_below_both_thresholds_there_is_no_gut_goal(self):
        facts = replace(HEALTHY, ibs_sss_total=174, gsrs_syndromes={"reflux": 3.9})
        assert "gi_goal" not in by_code(facts)

    def test_an_eczema_patient_gets_a_poem_goal_named_for_eczema(self):
        facts = replace(HEALTHY, skin_concerns=("eczema",), poem_total=8, dlqi_total=9)

        activity = goal_activity(facts, "skin_goal")

        assert (activity.goal.instrument, activity.goal.baseline) == ("poem", 8)
        assert "your eczema symptom score (POEM)" in activity.instructions
        assert "from 8" in activity.instructions

    def test_an_acne_patient_is_never_told_about_eczema(self):
        facts = replace(HEALTHY, skin_concerns=("acne",), dlqi_total=6)

        activity = goal_activity(facts, "skin_goal")

        assert (activity.goal.instrument, activity.goal.baseline) == ("dlqi", 6)
        assert "how much your acne affects your daily life (DLQI score)" in activity.instructions
        assert "eczema" not in activity.instructions.lower()
        assert "eczema" not in activity.title.lower()

    def test_an_acne_patient_with_high_poem_and_dlqi_gets_the_dlqi_goal(self):
        facts = replace(HEALTHY, skin_concerns=("acne", "rosacea"), poem_total=12, dlqi_total=7)

        activity = goal_activity(facts, "skin_goal")

        assert activity.goal.instrument == "dlqi"
        assert "your acne and rosacea" in activity.instructions
        assert "eczema" not in activity.instructions.lower()

    def test_a_high_poem_alone_without_eczema_is_worded_for_the_skin(self):
        facts = replace(HEALTHY, skin_concerns=("psoriasis",), poem_total=9, dlqi_total=2)

        activity = goal_activity(facts, "skin_goal")

        assert activity.goal.instrument == "poem"
        assert "your skin symptom score (POEM)" in activity.instructions
        assert "eczema" not in activity.instructions.lower()


def test_facts_carry_the_skin_concerns_and_the_gsrs_total():
    facts = facts_from_intake(
        intake_answers={"skin-concerns": ["acne", "dryness"]},
        scores={"gsrs": {"total": 3.1, "band": None, "subscales": {"reflux": 4.5}}},
        red_flags=[],
    )

    assert facts.skin_concerns == ("acne", "dryness")
    assert (facts.gsrs_total, dict(facts.gsrs_syndromes)) == (3.1, {"reflux": 4.5})


# --- sources ---------------------------------------------------------------------------------


def test_every_rule_cites_sources_that_are_listed_with_a_full_citation():
    for rule in RULES:
        assert rule.sources, rule.code
        assert set(rule.sources) <= set(REFERENCES), rule.code
    assert {key for rule in RULES for key in rule.sources} == set(REFERENCES)


def test_the_rules_document_cites_each_rules_sources():
    document = rules_markdown()

    for rule in RULES:
        (row,) = [line for line in document.splitlines() if line.startswith(f"| `{rule.code}` |")]
        assert row.endswith(f"| {'; '.join(rule.sources)} |")
    for citation in REFERENCES.values():
        assert citation in document
