"""The OpenAPI schema is true: schemathesis (every check, responses included) finds nothing.

A short run for `make test`, as every role with a real token of their own (patient, clinician,
coordinator, scheduler, admin), the five runs side by side against one live server: a couple of
examples per operation (positive and negative). `bench/openapi_fuzz.py` runs longer, with the
coverage phase.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..openapi_fuzz import ROLES, clinic_for_fuzzing, objects_for_fuzzing, run_schemathesis_as


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_difference_between_the_schema_and_the_api(
    live_server, tmp_path: Path
) -> None:
    users = clinic_for_fuzzing()
    parameters = objects_for_fuzzing(users)

    for token_revoking in (False, True):
        runs = run_schemathesis_as(
            base_url=live_server.url,
            users={role: users[role] for role in ROLES},
            parameters=parameters,
            max_examples=2,
            phases="examples,fuzzing",
            seed=1,
            report_dir=tmp_path,
            token_revoking=token_revoking,
        )

        failed = {role: run.output for role, run in runs.items() if run.returncode != 0}
        assert not failed, "\n\n".join(f"=== as {role}\n{out}" for role, out in failed.items())
