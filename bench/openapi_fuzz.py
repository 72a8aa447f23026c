"""A long schemathesis run over the whole OpenAPI schema, as every role, with every check and
every phase but stateful (the schema has no links). Not a timing: the figure that matters is
"0 failures". Run it against the suite's database and embedded services:

    .venv/bin/python scripts/dev.py test bench/openapi_fuzz.py -s

Options: OPENAPI_FUZZ_EXAMPLES (default 25 per operation), OPENAPI_FUZZ_SEED.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.openapi_fuzz import ROLES, clinic_for_fuzzing, objects_for_fuzzing, run_schemathesis

EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("OPENAPI_FUZZ_SEED", "7"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_long_run(role: str, live_server, tmp_path: Path) -> None:
    users = clinic_for_fuzzing()
    parameters = objects_for_fuzzing(users)[role]
    for token_revoking in (False, True):
        run = run_schemathesis(
            base_url=live_server.url,
            user=users[role],
            parameters=parameters,
            max_examples=EXAMPLES,
            phases="examples,coverage,fuzzing",
            seed=SEED,
            report_dir=tmp_path,
            token_revoking=token_revoking,
        )
        print(run.output[-1500:])
        assert run.returncode == 0, run.output
