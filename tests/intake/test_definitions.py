"""The shipped questionnaire definitions (intake/definitions/*.json) and the definition checks.

Sources: PRODUCT.md ("Instruments", "The gut-skin intake", "Contract details"); each instrument's
citation is in its definition and in intake/instruments/<slug>.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.engine import (
    DEFINITIONS_DIR,
    Definition,
    DefinitionError,
    Item,
    enabled_link_ids,
    load_all_definitions,
    load_definition,
    parse_definition,
    score,
    validate_answers,
)
from intake.instruments import INSTRUMENTS

SLUGS = ["poem", "dlqi", "gsrs", "ibs-sss", "pss-4", "pss-10", "isi", "bristol", "gut-skin-intake"]
# The current version of each; 1.1.0 of the intake added the NICE CG61/NG12 items and the skin
# emergencies of issue #10 (published versions never change: a change is a new version).
VERSIONS = dict.fromkeys(SLUGS, "1.0.0") | {"gut-skin-intake": "1.1.0"}


def test_every_expected_definition_ships() -> None:
    assert sorted(load_all_definitions()) == sorted(SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
def test_each_definition_loads_with_its_canonical_url_and_version(slug: str) -> None:
    definition = load_definition(slug)
    assert definition.slug == slug
    assert definition.version == VERSIONS[slug]
    assert definition.url == f"https://carecore.example/fhir/Questionnaire/{slug}"
    assert definition.canonical == f"{definition.url}|{VERSIONS[slug]}"
    assert definition.licence


@pytest.mark.parametrize("slug", SLUGS)
def test_each_definition_round_trips_to_its_file(slug: str) -> None:
    on_disk = json.loads((DEFINITIONS_DIR / f"{slug}.json").read_text(encoding="utf-8"))
    assert load_definition(slug).as_dict() == on_disk


@pytest.mark.parametrize("slug", [s for s in SLUGS if s != "gut-skin-intake"])
def test_instrument_definitions_use_the_scorer_link_ids_and_nothing_is_required(slug: str) -> None:
    definition = load_definition(slug)
    assert definition.instrument == slug
    assert [item.link_id for item in definition.items] == list(INSTRUMENTS[slug].LINK_IDS)
    assert definition.citation
    assert not any(item.required for item in definition.items)


@pytest.mark.parametrize("slug", ["poem", "gsrs", "pss-4", "pss-10", "isi", "bristol"])
def test_choice_codes_are_the_published_item_scores(slug: str) -> None:
    module = INSTRUMENTS[slug]
    for item in load_definition(slug).items:
        assert sorted(item.option_codes) == sorted(module.ITEM_CODES)


def test_dlqi_codes() -> None:
    items = load_definition("dlqi").items_by_link_id
    assert items["dlqi-1"].option_codes == (3, 2, 1, 0)
    assert items["dlqi-3"].option_codes == (3, 2, 1, 0, "not_relevant")
    assert items["dlqi-7"].option_codes == ("yes", "no", "not_relevant")
    assert items["dlqi-7a"].option_codes == (2, 1, 0)


INTAKE_LINK_IDS = {
    "skin-concerns": "multi-choice",
    "skin-concerns-other": "string",
    "skin-self-rating": "integer",
    "stool-type": "choice",
    "gut-symptoms": "boolean",
    "fibre-servings-daily": "integer",
    "fermented-foods-weekly": "integer",
    "added-sugar-daily": "integer",
    "processed-foods-weekly": "integer",
    "dairy-reaction": "boolean",
    "gluten-reaction": "boolean",
    "alcohol-drinks-weekly": "integer",
    "caffeine-drinks-daily": "integer",
    "water-glasses-daily": "integer",
    "sleep-hours-nightly": "decimal",
    "exercise-minutes-weekly": "integer",
    "stress-level": "integer",
    "antibiotics-last-3-months": "boolean",
    "probiotic-use": "boolean",
    "rf-rectal-bleeding": "boolean",
    "rf-weight-loss": "boolean",
    "rf-nocturnal-symptoms": "boolean",
    "rf-family-history-gi": "boolean",
    "rf-family-history-ovarian": "boolean",
    "rf-iron-deficiency-anaemia": "boolean",
    "rf-bowel-habit-change": "boolean",
    "rf-fever": "boolean",
    "rf-trouble-swallowing": "boolean",
    "rf-persistent-vomiting": "boolean",
    "rf-angioedema": "boolean",
    "rf-mucosal-sores": "boolean",
    "rf-skin-blistering": "boolean",
    "rf-eczema-spreading-blisters": "boolean",
    "rf-eczema-infected": "boolean",
    "rf-widespread-redness": "boolean",
    "rf-rosacea-eye-symptoms": "boolean",
    "rf-self-harm-thoughts": "boolean",
    "symptom-onset-age": "integer",
    "gut-symptoms-new": "boolean",
}


def test_the_intake_has_every_item_the_rules_key_on_with_its_type() -> None:
    items = load_definition("gut-skin-intake").items_by_link_id
    assert {link_id: item.type for link_id, item in items.items()} == INTAKE_LINK_IDS


def test_the_intake_concerns_and_ranges() -> None:
    items = load_definition("gut-skin-intake").items_by_link_id
    assert items["skin-concerns"].option_codes == (
        "eczema",
        "psoriasis",
        "acne",
        "rosacea",
        "dryness",
        "other",
    )
    assert items["stool-type"].option_codes == (1, 2, 3, 4, 5, 6, 7)
    assert (items["stress-level"].min, items["stress-level"].max) == (0, 10)
    assert (items["sleep-hours-nightly"].min, items["sleep-hours-nightly"].max) == (0, 24)
    assert all(items[k].required for k in INTAKE_LINK_IDS if k.startswith("rf-"))


def _minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "t",
        "title": "T",
        "version": "1.0.0",
        "url": "https://carecore.example/fhir/Questionnaire/t",
        "instrument": None,
        "items": [{"linkId": "a", "text": "A", "type": "boolean"}],
    }
    return data | overrides


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"version": "1.0"}, "semantic version"),
        ({"slug": "Bad Slug"}, "slug must be"),
        ({"instrument": "nope"}, "not a known scorer"),
        ({"items": []}, "non-empty list"),
        (
            {"items": [{"linkId": "a", "text": "A", "type": "boolean"}] * 2},
            "used more than once",
        ),
        ({"items": [{"linkId": "a", "text": "A", "type": "colour"}]}, "type must be"),
        ({"items": [{"linkId": "a", "text": "A", "type": "choice"}]}, "non-empty options"),
        (
            {
                "items": [
                    {
                        "linkId": "a",
                        "text": "A",
                        "type": "choice",
                        "options": [{"code": 1, "display": "x"}, {"code": 1, "display": "y"}],
                    }
                ]
            },
            "used more than once",
        ),
        (
            {"items": [{"linkId": "a", "text": "A", "type": "integer", "min": 5, "max": 1}]},
            "min must not be greater than max",
        ),
        (
            {
                "items": [
                    {
                        "linkId": "a",
                        "text": "A",
                        "type": "boolean",
                        "enableWhen": [{"question": "b", "operator": "exists", "answer": True}],
                    },
                    {"linkId": "b", "text": "B", "type": "boolean"},
                ]
            },
            "not an earlier item",
        ),
        (
            {
                "items": [
                    {"linkId": "a", "text": "A", "type": "boolean"},
                    {
                        "linkId": "b",
                        "text": "B",
                        "type": "boolean",
                        "enableWhen": [{"question": "a", "operator": "~", "answer": True}],
                    },
                ]
            },
            "operator must be",
        ),
        (
            {
                "items": [
                    {"linkId": "a", "text": "A", "type": "boolean"},
                    {
                        "linkId": "b",
                        "text": "B",
                        "type": "boolean",
                        "enableWhen": [{"question": "a", "operator": "=", "answer": 1}],
                    },
                ]
            },
            "not a valid answer to a",
        ),
        (
            {"instrument": "bristol", "items": [{"linkId": "a", "text": "A", "type": "boolean"}]},
            "bristol linkIds",
        ),
    ],
)
def test_broken_definitions_are_refused_naming_the_problem(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(_minimal(**overrides))
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_standard_instrument_items_may_not_be_required() -> None:
    data = json.loads((DEFINITIONS_DIR / "bristol.json").read_text(encoding="utf-8"))
    data["items"][0]["required"] = True
    with pytest.raises(DefinitionError, match="not required"):
        parse_definition(data)


@pytest.mark.parametrize("slug", ["../poem", "nope", "POEM", ""])
def test_unknown_or_unsafe_slugs_are_not_found(slug: str) -> None:
    with pytest.raises(KeyError):
        load_definition(slug)


# --- property: anything the engine accepts, the scorer can score -------------------------------


def _value(item: Item) -> st.SearchStrategy[Any]:
    if item.type == "boolean":
        return st.booleans()
    if item.type == "integer":
        return st.integers(item.min if item.min is not None else -1000, item.max or 1000)
    if item.type == "decimal":
        return st.floats(item.min or 0, item.max or 1000, allow_nan=False)
    if item.type == "choice":
        return st.sampled_from(item.option_codes)
    if item.type == "multi-choice":
        return st.lists(st.sampled_from(item.option_codes), unique=True)
    if item.type == "date":
        return st.dates().map(lambda d: d.isoformat())
    # a small alphabet: full-unicode text is slow to warm up and strings are only length-checked
    return st.text(alphabet="abc xyz-é", max_size=item.max_length or 50)


@st.composite
def valid_answers(draw: st.DrawFn, definition: Definition) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in definition.items:
        if item.link_id not in enabled_link_ids(definition, answers):
            continue
        if draw(st.booleans()) or draw(st.booleans()):  # mostly answered, sometimes blank
            answers[item.link_id] = draw(_value(item))
    return answers


@pytest.mark.parametrize("slug", SLUGS)
# timings never decide a test (they belong in bench/): no deadline, no too-slow check
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_accepted_answers_always_score_within_the_published_range(
    slug: str, data: st.DataObject
) -> None:
    definition = load_definition(slug)
    answers = data.draw(valid_answers(definition))
    assert validate_answers(definition, answers, completed=False) == {}
    scores = score(definition, answers)
    if definition.instrument is None:
        assert scores == {}
        return
    result = scores[slug]
    module = INSTRUMENTS[slug]
    if result["total"] is not None:
        assert module.TOTAL_MIN <= result["total"] <= module.TOTAL_MAX
        assert result["band"] == module.band(result["total"])
    else:
        assert result["band"] is None
