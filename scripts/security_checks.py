"""The static and dependency checks `make test` runs before pytest (docs/security.md, "Static and
dependency checks").

- bandit over the code (configured in pyproject.toml [tool.bandit]) at medium severity and medium
  confidence: any finding fails. An accepted one carries `# nosec Bxxx # reason` on its line.
- pip-audit over requirements.lock: a known vulnerability fails. When the vulnerability service
  cannot be reached, or cannot answer for some packages, a warning says so plainly (naming how
  many packages were NOT audited) and the run goes on, because a test run must not depend on a
  third-party service being up. Set CARECORE_PIP_AUDIT_REQUIRED=1 (release pipelines) to make an
  unanswered audit fail as well.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Whole-run bound: pip-audit asks once per package, each with its own timeout, and a network
# that drops packets silently would otherwise hold `make test` for a long time.
PIP_AUDIT_TIMEOUT_SECONDS = 300
PIP_AUDIT_REQUEST_TIMEOUT_SECONDS = 15

# What pip-audit prints when it cannot reach (or get an answer from) the vulnerability service.
_UNREACHABLE_MARKERS = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "ProxyError",
    "SSLError",
    "NameResolutionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "timed out",
    "ServiceError",
    "503 Server Error",
    "502 Server Error",
    "504 Server Error",
)


@dataclass(frozen=True)
class AuditVerdict:
    failed: bool
    warning: bool
    message: str


def bandit_command(bin_dir: Path) -> list[str]:
    return [
        str(bin_dir / "bandit"),
        "-c",
        "pyproject.toml",
        "-r",
        ".",
        "--severity-level",
        "medium",
        "--confidence-level",
        "medium",
        "--quiet",
    ]


# bandit logs this for the other AST nodes of a line whose finding a nosec accepted: noise.
_BANDIT_NOISE = re.compile(r"nosec encountered \(B\d+\), but no failed test")


def run_bandit(root: Path, bin_dir: Path) -> None:
    """Raises CalledProcessError on any finding at medium severity and confidence or above."""
    print("[carecore] bandit (medium severity and confidence)", flush=True)
    completed = subprocess.run(
        bandit_command(bin_dir), cwd=root, capture_output=True, text=True, check=False
    )
    for line in (completed.stdout + completed.stderr).splitlines():
        if not _BANDIT_NOISE.search(line):
            print(line, flush=True)
    completed.check_returncode()


def pip_audit_command(bin_dir: Path, lock_file: Path, report: Path) -> list[str]:
    return [
        str(bin_dir / "pip-audit"),
        "--requirement",
        str(lock_file),
        # Every requirement is pinned with hashes: audit exactly those, without pip resolving.
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--timeout",
        str(PIP_AUDIT_REQUEST_TIMEOUT_SECONDS),
        "--format",
        "json",
        "--output",
        str(report),
    ]


def _describe_vulnerable(dependency: dict[str, Any]) -> str:
    ids = []
    for vulnerability in dependency["vulns"]:
        fixes = ", ".join(vulnerability.get("fix_versions") or []) or "no fixed version yet"
        ids.append(f"{vulnerability.get('id', '?')} (fixed in: {fixes})")
    return f"  {dependency['name']} {dependency.get('version', '?')}: {'; '.join(ids)}"


def judge_pip_audit(
    *, returncode: int | None, report: dict[str, Any] | None, output: str, required: bool
) -> AuditVerdict:
    """What a pip-audit run means for `make test`.

    `returncode` None: the run was stopped after PIP_AUDIT_TIMEOUT_SECONDS. `report`: the JSON
    report, when pip-audit wrote one. `output`: its stdout and stderr, for the reason of a crash.
    """
    if report is not None:
        dependencies = report.get("dependencies", [])
        vulnerable = [dependency for dependency in dependencies if dependency.get("vulns")]
        if vulnerable:
            lines = "\n".join(_describe_vulnerable(dependency) for dependency in vulnerable)
            return AuditVerdict(
                failed=True,
                warning=False,
                message=(
                    f"pip-audit: {len(vulnerable)} locked package(s) with known vulnerabilities:\n"
                    f"{lines}\nUpgrade them in pyproject.toml and re-lock (make lock)."
                ),
            )
        skipped = [dependency for dependency in dependencies if dependency.get("skip_reason")]
        if skipped:
            audited = len(dependencies) - len(skipped)
            reason = skipped[0]["skip_reason"]
            message = (
                f"pip-audit: WARNING: {len(skipped)} of {len(dependencies)} locked packages were "
                f"NOT audited: the vulnerability service gave no answer for them (first: "
                f'"{reason}").'
            )
            if audited == 0:
                message += " The vulnerability service is unreachable from here."
            else:
                message += f" The other {audited} have no known vulnerabilities."
            return _unanswered(message, required=required)
        return AuditVerdict(
            failed=False,
            warning=False,
            message=f"pip-audit: {len(dependencies)} locked packages, no known vulnerabilities.",
        )
    if returncode is None:
        return _unanswered(
            f"pip-audit: WARNING: no answer from the vulnerability service within "
            f"{PIP_AUDIT_TIMEOUT_SECONDS} s; the locked packages were NOT audited.",
            required=required,
        )
    last_line = next((line for line in reversed(output.splitlines()) if line.strip()), "")
    if any(marker in output for marker in _UNREACHABLE_MARKERS):
        return _unanswered(
            "pip-audit: WARNING: the vulnerability service is unreachable; the locked packages "
            f"were NOT audited. ({last_line.strip()[:300]})",
            required=required,
        )
    return AuditVerdict(
        failed=True,
        warning=False,
        message=f"pip-audit failed (exit {returncode}) without a report:\n{output[-2000:]}",
    )


def _unanswered(message: str, *, required: bool) -> AuditVerdict:
    if required:
        return AuditVerdict(
            failed=True,
            warning=False,
            message=f"{message}\nCARECORE_PIP_AUDIT_REQUIRED is set, so this fails the run.",
        )
    return AuditVerdict(
        failed=False,
        warning=True,
        message=f"{message}\nThe run goes on; audit again where the service answers.",
    )


def run_pip_audit(root: Path, bin_dir: Path) -> AuditVerdict:
    print("[carecore] pip-audit over requirements.lock", flush=True)
    required = os.environ.get("CARECORE_PIP_AUDIT_REQUIRED", "") not in ("", "0", "false")
    with tempfile.TemporaryDirectory() as directory:
        report_path = Path(directory) / "pip-audit.json"
        command = pip_audit_command(bin_dir, root / "requirements.lock", report_path)
        returncode: int | None
        try:
            completed = subprocess.run(
                command,
                cwd=root,
                capture_output=True,
                text=True,
                timeout=PIP_AUDIT_TIMEOUT_SECONDS,
                check=False,
            )
            returncode, output = completed.returncode, completed.stdout + completed.stderr
        except subprocess.TimeoutExpired:
            returncode, output = None, ""
        report = None
        if report_path.exists() and report_path.stat().st_size:
            report = json.loads(report_path.read_text())
    verdict = judge_pip_audit(
        returncode=returncode, report=report, output=output, required=required
    )
    print(f"[carecore] {verdict.message}", flush=True)
    return verdict


def run_all(root: Path, bin_dir: Path) -> bool:
    """bandit, then pip-audit; False when either fails the run."""
    try:
        run_bandit(root, bin_dir)
    except subprocess.CalledProcessError:
        print("[carecore] bandit found issues (above): fix them or justify each.", flush=True)
        return False
    return not run_pip_audit(root, bin_dir).failed
