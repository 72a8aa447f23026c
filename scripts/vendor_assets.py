"""Vendored front-end assets: fetched from the npm registry once, committed, checked every run.

The portal loads no asset from a CDN (PRODUCT.md, "Web portal"); its JavaScript is committed
under static/vendor/ (and axe-core, used only by the browser tests, under tests/browser/vendor/).
Each file's package, version and sha256 are listed below and in docs/dependencies.md; the suite
checks that the committed bytes match (tests/test_vendored_assets.py).

    .venv/bin/python scripts/vendor_assets.py          # (re)fetch with `npm pack`, verify, write
    .venv/bin/python scripts/vendor_assets.py --check  # verify the committed files only

To upgrade: change the version here, run it without --check, and copy the new sha256 it prints
into this list and into docs/dependencies.md. htmx stays on 2.0.x: npm's `latest` tag is htmx 4,
which changes behaviour.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    path_in_package: str
    destination: str
    sha256: str


ASSETS = (
    Asset(
        "htmx.org",
        "2.0.11",
        "dist/htmx.min.js",
        "static/vendor/htmx.org/2.0.11/htmx.min.js",
        "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    ),
    Asset(
        "chart.js",
        "4.6.1",
        "dist/chart.umd.min.js",
        "static/vendor/chart.js/4.6.1/chart.umd.min.js",
        "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2",
    ),
    Asset(
        "axe-core",
        "4.14.1",
        "axe.min.js",
        "tests/browser/vendor/axe-core/4.14.1/axe.min.js",
        "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c",
    ),
)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(asset: Asset, workdir: Path) -> bytes:
    """The file's bytes from the package tarball that `npm pack` downloads (integrity-checked)."""
    subprocess.run(
        ["npm", "pack", f"{asset.package}@{asset.version}", "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    tarball = next(workdir.glob(f"{asset.package.replace('/', '-')}-{asset.version}.tgz"))
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/{asset.path_in_package}")
        if member is None:
            raise SystemExit(f"{asset.package}@{asset.version} has no {asset.path_in_package}")
        return member.read()


def check() -> list[str]:
    """Problems with the committed files; empty when every file matches its checksum."""
    problems = []
    for asset in ASSETS:
        path = ROOT / asset.destination
        if not path.exists():
            problems.append(f"{asset.destination} is missing")
        elif sha256_of(path) != asset.sha256:
            problems.append(f"{asset.destination} does not match its sha256 {asset.sha256}")
    return problems


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = check()
        print("\n".join(problems) or "vendored assets match their checksums")
        return 1 if problems else 0
    with tempfile.TemporaryDirectory() as workdir:
        for asset in ASSETS:
            content = fetch(asset, Path(workdir))
            destination = ROOT / asset.destination
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
            digest = sha256_of(destination)
            print(f"{asset.package} {asset.version} {asset.destination} sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
