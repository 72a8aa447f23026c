"""Each care-plan rule fires exactly at its PRODUCT.md threshold, with evidence a clinician can
check; an intake touching every rule yields the full plan; unanswered inputs never fire."""

from __future__ import annotations

from dataclasses import replace

import pytest

from careplans.rules import RULES, IntakeFacts, draft_activities, rules_markdown

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
THRESHOLDS = [
    ("fiber", {"fibre_servings_daily": 4}, {"fibre_servings_daily": 5}),
    ("fermented_foods", {"fermented_foods_weekly": 2}, {"fermented_foods_weekly": 3}),
    ("prebiotic_foods", {"fibre_servings_daily": 4}, {"fibre_servings_daily": 5}),
    ("prebiotic_foods", {"antibiotics_last_3_months": True}, {"antibiotics_last_3_months": False}),
    ("reduce_sugar_processed", {"added_sugar_daily": 2}, {"added_sugar_daily": 1}),
    ("reduce_sugar_processed", {"processed_foods_weekly": 5}, {"processed_foods_weekly": 4}),
    ("elimination_trial", {"dairy_reaction": True}, {"dairy_reaction": False}),
    ("elimination_trial", {"gluten_reaction": True}, {"gluten_reaction": None}),
    ("reduce_alcohol_caffeine", {"alcohol_drinks_weekly": 8}, {"alcohol_drinks_weekly": 7}),
    ("reduce_alcohol_caffeine", {"caffeinated_drinks_daily": 4}, {"caffeinated_drinks_daily": 3}),
    ("hydration", {"water_glasses_daily": 5}, {"water_glasses_daily": 6}),
    ("sleep", {"sleep_hours_nightly": 6.5}, {"sleep_hours_nightly": 7}),
    ("sleep", {"isi_total": 8}, {"isi_total": 7}),
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


def test_an_intake_touching_every_rule_yields_the_full_plan():
    everything = IntakeFacts(
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

    assert [activity.code for activity in draft_activities(everything)] == [
        rule.code for rule in RULES
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
