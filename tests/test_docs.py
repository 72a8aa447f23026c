"""Every document in docs/ is reachable from the README."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_document_in_docs_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    documents = sorted(path.name for path in (ROOT / "docs").glob("*.md"))

    assert documents
    assert [name for name in documents if f"](docs/{name})" not in readme] == []
