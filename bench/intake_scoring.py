"""Benchmark: validate and score one full intake response set (goal: under 5 ms of CPU).

One "response set" is a completed gut-skin intake (validation + red flags) plus five completed
instruments (POEM, DLQI, IBS-SSS, GSRS, PSS-10: validation + scoring). Definitions are loaded
once, as the web process would have them cached. CPU time is ``time.process_time`` over many
iterations, so other load on the machine does not count.

    .venv/bin/python bench/intake_scoring.py [--iterations N]

Figures are recorded in docs/benchmarks.md ("Intake scoring").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.engine import (
    _load_definition,
    load_all_definitions,
    load_definition,
    score,
    validate_answers,
)
from intake.red_flags import red_flags

INTAKE = {
    "skin-concerns": ["eczema", "dryness", "other"],
    "skin-concerns-other": "flaky scalp",
    "skin-self-rating": 6,
    "stool-type": 5,
    "gut-symptoms": True,
    "fibre-servings-daily": 3,
    "fermented-foods-weekly": 1,
    "added-sugar-daily": 3,
    "processed-foods-weekly": 6,
    "dairy-reaction": True,
    "gluten-reaction": False,
    "alcohol-drinks-weekly": 8,
    "caffeine-drinks-daily": 4,
    "water-glasses-daily": 4,
    "sleep-hours-nightly": 6.5,
    "exercise-minutes-weekly": 90,
    "stress-level": 7,
    "antibiotics-last-3-months": True,
    "probiotic-use": False,
    "rf-rectal-bleeding": False,
    "rf-weight-loss": False,
    "rf-nocturnal-symptoms": True,
    "rf-family-history-gi": False,
    "rf-family-history-ovarian": False,
    "rf-iron-deficiency-anaemia": False,
    "rf-bowel-habit-change": False,
    "rf-fever": False,
    "rf-trouble-swallowing": False,
    "rf-persistent-vomiting": False,
    "rf-angioedema": False,
    "rf-mucosal-sores": False,
    "rf-eczema-spreading-blisters": False,
    "rf-eczema-infected": False,
    "rf-widespread-redness": False,
    "rf-rosacea-eye-symptoms": False,
    "rf-self-harm-thoughts": False,
    "symptom-onset-age": 41,
    "gut-symptoms-new": False,
}
INSTRUMENT_ANSWERS = {
    "poem": {f"poem-{n}": s for n, s in enumerate((4, 2, 0, 1, 3, 2, 4), start=1)},
    "dlqi": {f"dlqi-{n}": 2 for n in range(1, 11)} | {"dlqi-7": "no", "dlqi-7a": 1},
    "ibs-sss": {
        "ibs-sss-1": True,
        "ibs-sss-1a": 45,
        "ibs-sss-2": 4,
        "ibs-sss-3": True,
        "ibs-sss-3a": 30,
        "ibs-sss-4": 60,
        "ibs-sss-5": 50,
    },
    "gsrs": {f"gsrs-{n}": 1 + n % 7 for n in range(1, 16)},
    "pss-10": {f"pss-10-{n}": n % 5 for n in range(1, 11)},
}
DATE_OF_BIRTH = date(1980, 5, 17)
TODAY = date(2026, 11, 24)


def one_response_set(definitions: dict) -> None:
    intake = definitions["gut-skin-intake"]
    if validate_answers(intake, INTAKE, completed=True):
        raise AssertionError("intake answers should be valid")
    red_flags(INTAKE, date_of_birth=DATE_OF_BIRTH, today=TODAY)
    for slug, answers in INSTRUMENT_ANSWERS.items():
        definition = definitions[slug]
        if validate_answers(definition, answers, completed=True):
            raise AssertionError(f"{slug} answers should be valid")
        score(definition, answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    definitions = {slug: load_definition(slug) for slug in ["gut-skin-intake", *INSTRUMENT_ANSWERS]}
    one_response_set(definitions)  # warm up

    per_set_ms = []
    for _ in range(args.rounds):
        started = time.process_time()
        for _ in range(args.iterations):
            one_response_set(definitions)
        per_set_ms.append((time.process_time() - started) * 1000 / args.iterations)

    # Once per process: reading and checking every shipped definition file.
    _load_definition.cache_clear()
    cold_started = time.process_time()
    load_all_definitions()
    cold_ms = (time.process_time() - cold_started) * 1000

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{args.rounds} rounds x {args.iterations} response sets (intake + 5 instruments)")
    print(
        "CPU per response set: "
        f"median {statistics.median(per_set_ms):.3f} ms, "
        f"min {min(per_set_ms):.3f} ms, max {max(per_set_ms):.3f} ms (goal < 5 ms)"
    )
    print(f"loading and checking all definitions once per process: {cold_ms:.1f} ms CPU")


if __name__ == "__main__":
    main()
