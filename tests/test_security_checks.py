"""The bandit and pip-audit steps of `make test` (scripts/security_checks.py): a finding or a known
vulnerability fails the run; an unreachable vulnerability service is a loud warning, never a
silent pass (docs/security.md, "Static and dependency checks")."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

spec = importlib.util.spec_from_file_location(
    "carecore_security_checks", ROOT / "scripts/security_checks.py"
)
assert spec is not None and spec.loader is not None
checks = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = checks  # its dataclass looks its module up there
spec.loader.exec_module(checks)


def report(*dependencies: dict) -> dict:
    return {"dependencies": list(dependencies), "fixes": []}


CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
VULNERABLE = {
    "name": "requests",
    "version": "2.0.0",
    "vulns": [{"id": "PYSEC-2014-13", "fix_versions": ["2.3.0"], "aliases": ["CVE-2014-1829"]}],
}
# Exactly what pip-audit writes when the PyPI JSON API has no answer for a release.
UNANSWERED = {
    "name": "uvicorn",
    "skip_reason": "Dependency not found on PyPI and could not be audited: uvicorn (0.54.0)",
}


def judge(**kwargs):
    arguments = {"returncode": 0, "report": None, "output": "", "required": False, **kwargs}
    return checks.judge_pip_audit(**arguments)


def test_a_known_vulnerability_fails_the_run_and_names_the_fix():
    verdict = judge(returncode=1, report=report(CLEAN, VULNERABLE))

    assert verdict.failed
    assert "requests 2.0.0: PYSEC-2014-13 (fixed in: 2.3.0)" in verdict.message


def test_a_clean_audit_passes_quietly():
    verdict = judge(report=report(CLEAN))

    assert not verdict.failed
    assert not verdict.warning
    assert "no known vulnerabilities" in verdict.message


def test_packages_the_service_could_not_answer_for_are_a_warning_not_a_silent_pass():
    # pip-audit itself exits 0 and prints "No known vulnerabilities found" here.
    verdict = judge(report=report(UNANSWERED, UNANSWERED))

    assert not verdict.failed
    assert verdict.warning
    assert "2 of 2 locked packages were NOT audited" in verdict.message
    assert "unreachable" in verdict.message


def test_a_partial_answer_says_how_many_were_audited():
    verdict = judge(report=report(CLEAN, UNANSWERED))

    assert verdict.warning
    assert "1 of 2 locked packages were NOT audited" in verdict.message
    assert "The other 1 have no known vulnerabilities" in verdict.message


def test_a_vulnerability_fails_even_when_other_packages_went_unanswered():
    assert judge(report=report(UNANSWERED, VULNERABLE)).failed


@pytest.mark.parametrize(
    "output",
    [
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
        "Max retries exceeded",
        "NameResolutionError: Failed to resolve 'api.osv.dev'",
    ],
)
def test_an_unreachable_service_is_a_warning(output):
    verdict = judge(returncode=1, output=f"Traceback (most recent call last):\n{output}")

    assert not verdict.failed
    assert verdict.warning
    assert "unreachable" in verdict.message
    assert "NOT audited" in verdict.message


def test_a_run_that_never_answers_is_a_warning():
    verdict = judge(returncode=None)

    assert verdict.warning
    assert "NOT audited" in verdict.message


def test_any_other_crash_fails():
    verdict = judge(returncode=2, output="pip-audit: error: unrecognized arguments: --frobnicate")

    assert verdict.failed
    assert "unrecognized arguments" in verdict.message


def test_a_required_audit_fails_when_the_service_does_not_answer():
    assert judge(report=report(UNANSWERED), required=True).failed
    assert judge(returncode=1, output="ConnectionError", required=True).failed


def _hashed_requirement(name: str) -> str:
    """The lock file's entry for `name`, with its hashes."""
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}=="))
    entry = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.strip().startswith("--hash"):
            break
        entry.append(line)
    return "\n".join(entry) + "\n"


def test_the_real_pip_audit_with_no_way_out_warns_and_goes_on(tmp_path, monkeypatch, capsys):
    (tmp_path / "requirements.lock").write_text(_hashed_requirement("django"))
    # Nothing listens on port 9: every request to the vulnerability service fails to connect.
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("CARECORE_PIP_AUDIT_REQUIRED", raising=False)

    verdict = checks.run_pip_audit(tmp_path, BIN)

    assert not verdict.failed
    assert verdict.warning
    assert "NOT audited" in capsys.readouterr().out


def test_bandit_fails_on_a_finding_and_accepts_a_justified_one(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.bandit]\nexclude_dirs = ["tests"]\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import subprocess\nsubprocess.call('ls', shell=True)\n"
    )
    code = tmp_path / "app.py"
    code.write_text("import subprocess\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n")

    with pytest.raises(subprocess.CalledProcessError):
        checks.run_bandit(tmp_path, BIN)

    code.write_text(
        "import subprocess\n\ndef run(cmd):\n"
        "    subprocess.call(cmd, shell=True)  # nosec B602 # cmd is a constant of ours\n"
    )
    checks.run_bandit(tmp_path, BIN)
