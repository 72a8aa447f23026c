"""Recall and false alarms of message triage on the labelled corpus, per category.

    .venv/bin/python bench/triage_corpus.py [path/to/corpus.jsonl] [--misses]

A must-flag message counts as caught when the worst severity raised is at least the labelled
category's severity (a chest-pain message flagged "emergency" for breathing is caught: the
patient gets the same instruction and on-call is paged). "Same category" also counts how often
the labelled category itself was among the hits. A false alarm is any flag, of any severity, on
a message labelled routine (expected null). Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from messaging import triage, triage_rules

CORPUS = Path(__file__).resolve().parent.parent / "tests/messaging/triage_corpus.jsonl"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(rows: list[dict]) -> dict[str, dict[str, int]]:
    categories = triage_rules.category_by_code()
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        screening = triage.screen_message(body=row["text"])
        expected = row["expected"]
        if expected is None:
            key = f"routine ({row['tag']})"
            table[key]["messages"] += 1
            table[key]["false_alarms"] += bool(screening.hits)
            row["result"] = screening.codes
            continue
        wanted = categories[expected].severity
        got = screening.severity
        table[expected]["messages"] += 1
        table[expected]["caught"] += got is not None and got.rank >= wanted.rank
        table[expected]["same_category"] += expected in screening.codes
        row["result"] = screening.codes
    return table


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows = load(Path(args[0]) if args else CORPUS)
    table = evaluate(rows)
    severities = {c.code: c.severity.value for c in triage_rules.CATEGORIES}
    print("| category | severity | messages | recall | same category |")
    print("| --- | --- | --- | --- | --- |")
    flagged = [k for k in table if not k.startswith("routine")]
    for code in [c.code for c in triage_rules.CATEGORIES if c.code in flagged]:
        r = table[code]
        print(
            f"| {code} | {severities[code]} | {r['messages']} | "
            f"{r['caught']}/{r['messages']} | {r['same_category']}/{r['messages']} |"
        )
    print()
    print("| routine messages | messages | false alarms |")
    print("| --- | --- | --- |")
    for key in sorted(k for k in table if k.startswith("routine")):
        r = table[key]
        print(f"| {key} | {r['messages']} | {r['false_alarms']} |")
    must = sum(table[k]["messages"] for k in flagged)
    caught = sum(table[k]["caught"] for k in flagged)
    routine = [k for k in table if k.startswith("routine")]
    total_routine = sum(table[k]["messages"] for k in routine)
    alarms = sum(table[k]["false_alarms"] for k in routine)
    print()
    print(
        f"Recall {caught}/{must} = {caught / must:.1%}; false alarms {alarms}/{total_routine} "
        f"= {alarms / total_routine:.1%}; {len(rows)} messages."
    )
    if "--misses" in sys.argv:
        for row in rows:
            expected = row["expected"]
            if expected is None and row["result"]:
                print("FALSE ALARM", row["result"], row["text"])
            elif expected is not None:
                severity = triage.screen_message(body=row["text"]).severity
                if (
                    severity is None
                    or severity.rank < triage_rules.category_by_code()[expected].severity.rank
                ):
                    print("MISS", expected, row["result"], row["text"])


if __name__ == "__main__":
    main()
