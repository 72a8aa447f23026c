"""The questionnaire answer engine: definitions, enableWhen, answer validation and scoring.

Pure Python, no Django. Definitions are FHIR-Questionnaire-like JSON files in
``intake/definitions/<slug>.json`` (format in docs/instruments.md); answers are the API's
``{linkId: value}`` object.

- ``load_definition(slug)`` / ``load_all_definitions()`` read and check the shipped files;
  ``parse_definition(data)`` checks one definition given as a dict (e.g. a version stored in the
  database) and ``Definition.as_dict()`` gives the same JSON back.
- ``enabled_link_ids(definition, answers)`` evaluates ``enableWhen``.
- ``validate_answers(definition, answers, completed=...)`` returns errors keyed by linkId
  (``{}`` when valid); problems with the answers object itself are under ``"__all__"``, which
  cannot be a linkId.
- ``score(definition, answers)`` returns ``{"<instrument slug>": ScoreResult.as_dict()}``.

A ``null`` answer, an empty string (after stripping) and an empty list all mean "not answered":
clients may clear an answer while a response is in progress.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from intake.instruments import INSTRUMENTS, score_instrument

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

ITEM_TYPES = frozenset(
    {"boolean", "integer", "decimal", "string", "date", "choice", "multi-choice"}
)
CHOICE_TYPES = frozenset({"choice", "multi-choice"})
NUMBER_TYPES = frozenset({"integer", "decimal"})
OPERATORS = frozenset({"exists", "=", "!=", ">", ">=", "<", "<="})
ORDER_OPERATORS = frozenset({">", ">=", "<", "<="})
ENABLE_BEHAVIORS = frozenset({"all", "any"})
DEFAULT_MAX_LENGTH = 1000
NON_FIELD_KEY = "__all__"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Code = int | str


class DefinitionError(ValueError):
    """A questionnaire definition that breaks the format rules; ``problems`` lists each one."""

    def __init__(self, slug: str, problems: list[str]) -> None:
        super().__init__(f"questionnaire {slug!r} is invalid: " + "; ".join(problems))
        self.slug = slug
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Option:
    code: Code
    display: str


@dataclass(frozen=True, slots=True)
class EnableWhen:
    question: str
    operator: str
    answer: Any = None


@dataclass(frozen=True, slots=True)
class Item:
    link_id: str
    text: str
    type: str
    required: bool = False
    options: tuple[Option, ...] = ()
    min: int | float | None = None
    max: int | float | None = None
    max_length: int | None = None
    enable_when: tuple[EnableWhen, ...] = ()
    enable_behavior: str = "all"

    @property
    def option_codes(self) -> tuple[Code, ...]:
        return tuple(option.code for option in self.options)


@dataclass(frozen=True, slots=True)
class Definition:
    slug: str
    title: str
    version: str
    url: str
    citation: str | None
    licence: str | None
    copyright: str | None
    wording: str | None
    instrument: str | None
    items: tuple[Item, ...]
    items_by_link_id: Mapping[str, Item] = field(repr=False, compare=False, hash=False)

    @property
    def canonical(self) -> str:
        """``url|version``: what a FHIR QuestionnaireResponse's ``questionnaire`` carries."""
        return f"{self.url}|{self.version}"

    def as_dict(self) -> dict[str, Any]:
        """The definition in its JSON format (the shape of the files and of the API)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "version": self.version,
            "url": self.url,
            "citation": self.citation,
            "licence": self.licence,
            "copyright": self.copyright,
            "wording": self.wording,
            "instrument": self.instrument,
            "items": [_item_as_dict(item) for item in self.items],
        }


def _item_as_dict(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {
        "linkId": item.link_id,
        "text": item.text,
        "type": item.type,
        "required": item.required,
    }
    if item.options:
        data["options"] = [{"code": o.code, "display": o.display} for o in item.options]
    if item.min is not None:
        data["min"] = item.min
    if item.max is not None:
        data["max"] = item.max
    if item.max_length is not None:
        data["maxLength"] = item.max_length
    if item.enable_when:
        data["enableWhen"] = [
            {"question": c.question, "operator": c.operator, "answer": c.answer}
            for c in item.enable_when
        ]
        data["enableBehavior"] = item.enable_behavior
    return data


# --- loading and checking definitions ------------------------------------------------------------


def load_definition(slug: str) -> Definition:
    """The shipped definition ``intake/definitions/<slug>.json``; ``KeyError`` if there is none.

    Parsed and checked once per process, then cached (definitions are immutable).
    """
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise KeyError(slug)
    return _load_definition(slug)


@cache
def _load_definition(slug: str) -> Definition:
    path = DEFINITIONS_DIR / f"{slug}.json"
    if not path.is_file():
        raise KeyError(slug)
    definition = parse_definition(json.loads(path.read_text(encoding="utf-8")))
    if definition.slug != slug:
        raise DefinitionError(slug, [f"file {path.name} holds slug {definition.slug!r}"])
    return definition


def load_all_definitions() -> dict[str, Definition]:
    """Every shipped definition by slug."""
    slugs = sorted(path.stem for path in DEFINITIONS_DIR.glob("*.json"))
    return {slug: load_definition(slug) for slug in slugs}


def parse_definition(data: Mapping[str, Any]) -> Definition:
    """Build a :class:`Definition` from its JSON form; ``DefinitionError`` lists every problem."""
    slug = data.get("slug") if isinstance(data, Mapping) else None
    label = slug if isinstance(slug, str) else "?"
    if not isinstance(data, Mapping):
        raise DefinitionError(label, ["a definition must be a JSON object"])
    problems: list[str] = []
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        problems.append("slug must be lowercase letters, digits and single hyphens")
    for key in ("title", "url"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"{key} must be a non-empty string")
    version = data.get("version")
    if not isinstance(version, str) or not SEMVER_RE.match(version):
        problems.append("version must be a semantic version string such as '1.0.0'")
    for key in ("citation", "licence", "copyright", "wording"):
        if data.get(key) is not None and not isinstance(data[key], str):
            problems.append(f"{key} must be a string or null")
    instrument = data.get("instrument")
    if instrument is not None and instrument not in INSTRUMENTS:
        problems.append(f"instrument {instrument!r} is not a known scorer")

    raw_items = data.get("items")
    items: list[Item] = []
    if not isinstance(raw_items, list) or not raw_items:
        problems.append("items must be a non-empty list")
        raw_items = []
    seen: dict[str, Item] = {}
    for index, raw in enumerate(raw_items):
        item = _parse_item(raw, index, seen, problems)
        if item is None:
            continue
        if item.link_id in seen:
            problems.append(f"linkId {item.link_id!r} is used more than once")
            continue
        seen[item.link_id] = item
        items.append(item)

    if instrument in INSTRUMENTS:
        expected = set(INSTRUMENTS[instrument].LINK_IDS)
        if set(seen) != expected:
            problems.append(
                f"items must be exactly the {instrument} linkIds {sorted(expected)}, "
                f"got {sorted(seen)}"
            )
        for item in items:
            if item.required:
                problems.append(
                    f"{item.link_id}: items of a standard instrument are not required "
                    "(its missing-data rule applies)"
                )
    if problems:
        raise DefinitionError(label, problems)
    return Definition(
        slug=data["slug"],
        title=data["title"],
        version=data["version"],
        url=data["url"],
        citation=data.get("citation"),
        licence=data.get("licence"),
        copyright=data.get("copyright"),
        wording=data.get("wording"),
        instrument=instrument,
        items=tuple(items),
        items_by_link_id=MappingProxyType({item.link_id: item for item in items}),
    )


def _parse_item(
    raw: Any, index: int, earlier: Mapping[str, Item], problems: list[str]
) -> Item | None:
    if not isinstance(raw, Mapping):
        problems.append(f"items[{index}] must be an object")
        return None
    link_id = raw.get("linkId")
    if not isinstance(link_id, str) or not LINK_ID_RE.match(link_id):
        problems.append(f"items[{index}]: linkId must be lowercase letters, digits and hyphens")
        return None
    where = link_id
    before = len(problems)
    raw_type = raw.get("type")
    item_type = raw_type if isinstance(raw_type, str) else ""
    if item_type not in ITEM_TYPES:
        problems.append(f"{where}: type must be one of {sorted(ITEM_TYPES)}")
    if not isinstance(raw.get("text"), str) or not raw["text"].strip():
        problems.append(f"{where}: text must be a non-empty string")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        problems.append(f"{where}: required must be true or false")

    options: list[Option] = []
    raw_options = raw.get("options")
    if item_type in CHOICE_TYPES:
        if not isinstance(raw_options, list) or not raw_options:
            problems.append(f"{where}: a {item_type} item needs a non-empty options list")
        else:
            for raw_option in raw_options:
                code = raw_option.get("code") if isinstance(raw_option, Mapping) else None
                display = raw_option.get("display") if isinstance(raw_option, Mapping) else None
                if not _is_code(code) or not isinstance(display, str) or not display.strip():
                    problems.append(
                        f"{where}: each option needs a code (integer or string) and a display"
                    )
                    continue
                if any(_same(code, option.code) for option in options):
                    problems.append(f"{where}: option code {code!r} is used more than once")
                    continue
                options.append(Option(code=code, display=display))
    elif raw_options is not None:
        problems.append(f"{where}: only choice and multi-choice items have options")

    low, high = raw.get("min"), raw.get("max")
    for key, bound in (("min", low), ("max", high)):
        if bound is None:
            continue
        if item_type not in NUMBER_TYPES:
            problems.append(f"{where}: only integer and decimal items have {key}")
        elif not _is_number(bound) or (item_type == "integer" and type(bound) is not int):
            problems.append(f"{where}: {key} must be a number of the item's type")
    if _is_number(low) and _is_number(high) and low > high:
        problems.append(f"{where}: min must not be greater than max")

    max_length = raw.get("maxLength")
    if max_length is not None and (
        item_type != "string" or type(max_length) is not int or max_length < 1
    ):
        problems.append(f"{where}: maxLength is a positive integer, for string items only")

    behavior = raw.get("enableBehavior", "all")
    if behavior not in ENABLE_BEHAVIORS:
        problems.append(f"{where}: enableBehavior must be 'all' or 'any'")
    conditions: list[EnableWhen] = []
    raw_conditions = raw.get("enableWhen", [])
    if not isinstance(raw_conditions, list):
        problems.append(f"{where}: enableWhen must be a list")
        raw_conditions = []
    for raw_condition in raw_conditions:
        condition = _parse_condition(where, raw_condition, earlier, problems)
        if condition is not None:
            conditions.append(condition)

    if len(problems) > before:
        return None
    return Item(
        link_id=link_id,
        text=raw["text"],
        type=item_type,
        required=required,
        options=tuple(options),
        min=low,
        max=high,
        max_length=max_length,
        enable_when=tuple(conditions),
        enable_behavior=behavior,
    )


def _parse_condition(
    where: str, raw: Any, earlier: Mapping[str, Item], problems: list[str]
) -> EnableWhen | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: each enableWhen must be an object")
        return None
    question, operator, answer = raw.get("question"), raw.get("operator"), raw.get("answer")
    if not isinstance(question, str) or question not in earlier:
        problems.append(f"{where}: enableWhen refers to {question!r}, which is not an earlier item")
        return None
    if operator not in OPERATORS:
        problems.append(f"{where}: enableWhen operator must be one of {sorted(OPERATORS)}")
        return None
    target = earlier[question]
    if operator == "exists":
        if not isinstance(answer, bool):
            problems.append(f"{where}: 'exists' takes answer true or false")
            return None
    elif operator in ORDER_OPERATORS:
        if target.type in NUMBER_TYPES:
            ok = _is_number(answer)
        elif target.type == "date":
            ok = _is_iso_date(answer)
        else:
            ok = False
        if not ok:
            problems.append(
                f"{where}: {operator!r} compares a number or date item with a number or date"
            )
            return None
    else:
        if target.type in CHOICE_TYPES:
            ok = any(_same(answer, code) for code in target.option_codes)
        else:
            ok = _check_value(target, answer) is None
        if not ok:
            problems.append(
                f"{where}: enableWhen answer {answer!r} is not a valid answer to {question}"
            )
            return None
    return EnableWhen(question=question, operator=operator, answer=answer)


# --- enableWhen -----------------------------------------------------------------------------------


def is_answered(value: Any) -> bool:
    """``None``, a blank string and an empty list all mean "not answered"."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value)
    return True


def enabled_link_ids(definition: Definition, answers: Mapping[str, Any]) -> set[str]:
    """The linkIds enabled by ``answers``.

    Items are evaluated in order (enableWhen only refers to earlier items), and the answer to a
    disabled item counts as absent, so disabling cascades.
    """
    enabled: set[str] = set()
    for item in definition.items:
        if _is_enabled(item, answers, enabled):
            enabled.add(item.link_id)
    return enabled


def _is_enabled(item: Item, answers: Mapping[str, Any], enabled: set[str]) -> bool:
    if not item.enable_when:
        return True
    results = (
        _condition_holds(
            condition, answers.get(condition.question) if condition.question in enabled else None
        )
        for condition in item.enable_when
    )
    return all(results) if item.enable_behavior == "all" else any(results)


def _condition_holds(condition: EnableWhen, value: Any) -> bool:
    """One enableWhen against the current answer ``value`` (``None`` if absent or disabled).

    ``exists``: answered or not. ``=``: the answer equals (for multi-choice: includes) the value.
    ``!=``: the negation of ``=``, so it holds when unanswered (FHIR R4: "no answer is equal").
    ``>``, ``>=``, ``<``, ``<=``: false when unanswered or not comparable.
    Comparisons are type-strict: ``true`` never equals ``1``.
    """
    answered = is_answered(value)
    if condition.operator == "exists":
        return answered is condition.answer
    if condition.operator in ("=", "!="):
        if not answered:
            equal = False
        elif isinstance(value, list):
            equal = any(_same(element, condition.answer) for element in value)
        else:
            equal = _same(value, condition.answer)
        return equal if condition.operator == "=" else not equal
    if not answered:
        return False
    left: Any
    right: Any
    if _is_number(value) and _is_number(condition.answer):
        left, right = value, condition.answer
    elif _is_iso_date(value) and _is_iso_date(condition.answer):
        left, right = date.fromisoformat(value), date.fromisoformat(condition.answer)
    else:
        return False
    comparisons: dict[str, bool] = {
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }
    return comparisons[condition.operator]


# --- answer validation ----------------------------------------------------------------------------


def validate_answers(
    definition: Definition, answers: Any, *, completed: bool
) -> dict[str, list[str]]:
    """Errors keyed by linkId; ``{}`` when ``answers`` are acceptable.

    Checks, per item: unknown linkIds; answers to items that are not enabled; the value's type
    (booleans are JSON true/false; integers are ints, not booleans; decimals are finite ints or
    floats; dates are ISO ``YYYY-MM-DD``; strings are capped at ``maxLength``, default 1000, and
    hold no NUL);
    option codes (multi-choice: a list of distinct codes); ``min``/``max``; and, only when
    ``completed``, that every enabled ``required`` item is answered.
    """
    if not isinstance(answers, Mapping):
        return {NON_FIELD_KEY: ["Answers must be an object keyed by linkId."]}
    errors: dict[str, list[str]] = {}
    for key in answers:
        if not isinstance(key, str) or key not in definition.items_by_link_id:
            errors.setdefault(str(key), []).append("Unknown question.")
    enabled = enabled_link_ids(definition, answers)
    for item in definition.items:
        value = answers.get(item.link_id)
        if not is_answered(value):
            if completed and item.required and item.link_id in enabled:
                errors.setdefault(item.link_id, []).append("This question is required.")
            continue
        if item.link_id not in enabled:
            errors.setdefault(item.link_id, []).append(_not_enabled_message(definition, item))
            continue
        problem = _check_value(item, value)
        if problem is not None:
            errors.setdefault(item.link_id, []).append(problem)
    return errors


def _not_enabled_message(definition: Definition, item: Item) -> str:
    joiner = " and " if item.enable_behavior == "all" else " or "
    conditions = joiner.join(
        f"{c.question} {'is answered' if c.answer else 'is not answered'}"
        if c.operator == "exists"
        else f"{c.question} {c.operator} {json.dumps(c.answer)}"
        for c in item.enable_when
    )
    return f"{item.link_id} is not enabled by these answers: it applies only when {conditions}."


def _check_value(item: Item, value: Any) -> str | None:
    """Why ``value`` is not a valid answer to ``item``, or ``None`` if it is."""
    if item.type == "boolean":
        return None if isinstance(value, bool) else "Must be true or false."
    if item.type == "integer":
        if type(value) is not int:
            return "Must be a whole number."
        return _check_range(item, value)
    if item.type == "decimal":
        if not _is_number(value):
            return "Must be a number."
        return _check_range(item, value)
    if item.type == "string":
        if not isinstance(value, str):
            return "Must be text."
        limit = item.max_length or DEFAULT_MAX_LENGTH
        if len(value) > limit:
            return f"Must be at most {limit} characters."
        if "\x00" in value:
            # PostgreSQL stores no NUL in text or jsonb (the save was a 500). DRF's CharField
            # says the same of every other text field; an answer is JSON, checked here.
            return "Null characters are not allowed."
        return None
    if item.type == "date":
        return None if _is_iso_date(value) else "Must be a date in the form YYYY-MM-DD."
    if item.type == "choice":
        if any(_same(value, code) for code in item.option_codes):
            return None
        return f"Must be one of {_codes(item)}."
    if item.type == "multi-choice":
        if not isinstance(value, list):
            return f"Must be a list of codes from {_codes(item)}."
        for element in value:
            if not any(_same(element, code) for code in item.option_codes):
                return f"{json.dumps(element)} is not one of {_codes(item)}."
        if len({json.dumps(element) for element in value}) != len(value):
            return "Each option may be chosen only once."
        return None
    raise AssertionError(f"unhandled item type {item.type!r}")  # parse_definition prevents this


def _check_range(item: Item, value: int | float) -> str | None:
    if item.min is not None and value < item.min:
        return f"Must be at least {item.min}."
    if item.max is not None and value > item.max:
        return f"Must be at most {item.max}."
    return None


def _codes(item: Item) -> str:
    return ", ".join(json.dumps(code) for code in item.option_codes)


def _is_code(value: Any) -> TypeGuard[int | str]:
    return (type(value) is int) or (isinstance(value, str) and bool(value))


def _is_number(value: Any) -> TypeGuard[int | float]:
    if type(value) is int:
        return True
    return type(value) is float and math.isfinite(value)


def _same(left: Any, right: Any) -> bool:
    """Type-strict equality: ``True`` is not ``1`` and ``1.0`` is not ``1``."""
    return type(left) is type(right) and left == right


def _is_iso_date(value: Any) -> TypeGuard[str]:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --- scoring --------------------------------------------------------------------------------------


def score(definition: Definition, answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"<instrument>": {"total", "band", "subscales"}}``; ``{}`` without an instrument.

    Call with answers that ``validate_answers`` accepted; scorers raise
    ``intake.instruments.InvalidAnswer`` rather than score anything else. Blank strings and
    empty lists are passed to scorers as unanswered.
    """
    if definition.instrument is None:
        return {}
    cleaned = {key: value for key, value in answers.items() if is_answered(value)}
    return {definition.instrument: score_instrument(definition.instrument, cleaned).as_dict()}
