"""The OpenAPI schema is true: schemathesis (every check, responses included) finds nothing.

A short run for `make test`: a couple of examples per operation (positive and negative), as a
clinician, the role with the most endpoints. `bench/openapi_fuzz.py` runs longer, with the
coverage phase, as every role.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..openapi_fuzz import clinic_for_fuzzing, run_schemathesis


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_difference_between_the_schema_and_the_api(
    live_server, tmp_path: Path
) -> None:
    users = clinic_for_fuzzing()

    for token_revoking in (False, True):
        run = run_schemathesis(
            base_url=live_server.url,
            user=users["clinician"],
            max_examples=2,
            phases="examples,fuzzing",
            seed=1,
            report_dir=tmp_path,
            token_revoking=token_revoking,
        )

        assert run.returncode == 0, run.output
