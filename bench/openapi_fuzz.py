"""A long schemathesis run over the whole OpenAPI schema, as every role (each with a real token of
their own, the five runs side by side against one live server), with every check and every phase
but stateful (the schema has no links), on real objects (tests/openapi_fuzz.py). Not a timing:
the figure that matters is "0 failures"; docs/benchmarks.md has the counts. Run it against the
suite's database and embedded services:

    .venv/bin/python scripts/dev.py pytest bench/openapi_fuzz.py -s

Options: OPENAPI_FUZZ_EXAMPLES (default 25 per operation), OPENAPI_FUZZ_SEED.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.openapi_fuzz import ROLES, clinic_for_fuzzing, objects_for_fuzzing, run_schemathesis_as

EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("OPENAPI_FUZZ_SEED", "7"))


@pytest.mark.django_db(transaction=True)
def test_schemathesis_long_run(live_server, tmp_path: Path) -> None:
    users = clinic_for_fuzzing()
    parameters = objects_for_fuzzing(users)
    failed: dict[str, str] = {}
    for token_revoking in (False, True):
        runs = run_schemathesis_as(
            base_url=live_server.url,
            users={role: users[role] for role in ROLES},
            parameters=parameters,
            max_examples=EXAMPLES,
            phases="examples,coverage,fuzzing",
            seed=SEED,
            report_dir=tmp_path,
            token_revoking=token_revoking,
        )
        for role, run in runs.items():
            summary = re.findall(r"(?m)^\s*(\d+ generated.*|=+ .* in [\d.]+s =+)$", run.output)
            print(f"{role:<11} {'revoking ' if token_revoking else ''}{' | '.join(summary)}")
            if run.returncode != 0:
                failed[f"{role}{' (token-revoking pass)' if token_revoking else ''}"] = run.output
    assert not failed, "\n\n".join(f"=== as {role}\n{out}" for role, out in failed.items())
