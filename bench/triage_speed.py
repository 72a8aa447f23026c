"""How long message triage takes, by message size and kind. Figures go in docs/benchmarks.md.

    .venv/bin/python bench/triage_speed.py [--repeat N]

No database, no Django: the pipeline alone (messaging/triage.py). Each case is screened once to
warm up, then timed N times (default 20); the median and worst wall time and the median CPU
time of the process are printed in ms.

Cases:
- everyday-20k / -100k: long routine text (what most long messages are);
- buried-100k: the same 100 KB with five red-flag sentences spread through it;
- negations-100k: 100 KB of short negated symptom sentences, each different (the kind of text
  the old screen's negation scan was quadratic on);
- all-flags-20k: 20 KB (the API's body cap) where every sentence mentions a symptom and is
  different: the worst case, every sentence goes through medspaCy and PyRuSH.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from messaging import triage

EVERYDAY = (
    "I have had eczema on my hands for years and it gets worse in winter. My stomach is bloated "
    "after meals, and I get cramps most afternoons. I tried the oat cream but it stings a bit. "
    "Can I book a follow-up next week? "
)
RED_FLAGS = (
    "Today there was blood in my poo. ",
    "Since lunch my lips have swollen up. ",
    "Honestly I want to end it all. ",
    "I've lost 8 kilos without trying. ",
    "The red patch is hot and spreading and I have chills. ",
)
SYMPTOMS = ("chest pain", "blood in my stool", "trouble breathing", "a fever", "a rash")


def everyday(size: int) -> str:
    return (EVERYDAY * (size // len(EVERYDAY) + 1))[:size]


def buried(size: int) -> str:
    chunk = size // (len(RED_FLAGS) + 1)
    return "".join(everyday(chunk) + flag for flag in RED_FLAGS) + everyday(chunk)


def numbered_sentences(size: int, template: str) -> str:
    """`size` characters of different sentences: `template` filled with a counter and a
    symptom, so none repeats (repeated sentences are analysed once and would cost nothing)."""
    sentences, total, number = [], 0, 0
    while total < size:
        number += 1
        sentence = template.format(number=number, symptom=SYMPTOMS[number % len(SYMPTOMS)])
        sentences.append(sentence)
        total += len(sentence)
    return "".join(sentences)[:size]


def negations(size: int) -> str:
    return numbered_sentences(size, "No {symptom} on day {number}, not even a little. ")


def all_flags(size: int) -> str:
    return numbered_sentences(size, "At {number} o'clock I had {symptom} again. ")


CASES: dict[str, Callable[[], str]] = {
    "everyday-20k": lambda: everyday(20_000),
    "everyday-100k": lambda: everyday(100_000),
    "buried-100k": lambda: buried(100_000),
    "negations-100k": lambda: negations(100_000),
    "all-flags-20k": lambda: all_flags(20_000),
}


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 20
    started = time.perf_counter()
    triage.pipeline()
    print(f"pipeline build: {(time.perf_counter() - started) * 1000:.0f} ms (once per process)")
    # Wall time and this process's CPU time: on a shared machine the CPU time is the better
    # measure of the work done (wall time includes waiting for a core).
    print("| case | chars | flags | wall median ms | wall worst ms | CPU median ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, make in CASES.items():
        text = make()
        flags = triage.screen_message(body=text).codes
        wall, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            triage.screen_message(body=text)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        print(
            f"| {name} | {len(text)} | {len(flags)} | {statistics.median(wall):.1f} | "
            f"{max(wall):.1f} | {statistics.median(cpu):.1f} |"
        )


if __name__ == "__main__":
    main()
