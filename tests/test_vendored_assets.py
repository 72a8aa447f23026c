"""Vendored front-end files are the published bytes, and the docs name each version and sha256."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("vendor_assets", ROOT / "scripts/vendor_assets.py")
assert spec and spec.loader
vendor_assets = importlib.util.module_from_spec(spec)
sys.modules["vendor_assets"] = vendor_assets  # dataclasses look their module up there
spec.loader.exec_module(vendor_assets)


def test_every_vendored_file_matches_its_checksum() -> None:
    assert vendor_assets.check() == []


def test_docs_name_every_vendored_files_version_and_checksum() -> None:
    text = (ROOT / "docs/dependencies.md").read_text()
    for asset in vendor_assets.ASSETS:
        assert f"`{asset.package}` {asset.version}" in text
        assert asset.sha256 in text


def test_htmx_stays_on_2_0() -> None:
    (htmx,) = [asset for asset in vendor_assets.ASSETS if asset.package == "htmx.org"]
    assert htmx.version.startswith("2.0.")
