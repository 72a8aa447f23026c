"""Searchset Bundles, cut into pages in each type's stable order.

A page is filled type by type (one type for a search; the patient compartment for `$everything`
and the export), asking each for one row more than it needs so we know whether a `next` page
exists without counting. Every shown resource is audited as a list read, like the REST lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from carecore.accounts.models import User
from carecore.audit.services import AuditTarget, audit_record_many

from .record import SPECS, Entry, Filters, Scope, entries_after, filtered
from .search import Cursor


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_cursor: Cursor | None


def collect(
    scope: Scope,
    type_names: Sequence[str],
    *,
    filters: dict[str, Filters],
    cursor: Cursor,
    limit: int,
) -> Page:
    found: list[tuple[int, Entry]] = []
    type_index, after = cursor.type_index, cursor.after
    while type_index < len(type_names) and len(found) <= limit:
        spec = SPECS[type_names[type_index]]
        rows = filtered(spec, scope.queryset(spec.name), filters[spec.name])
        wanted = limit + 1 - len(found)
        batch = entries_after(
            spec, scope, rows, after=after, limit=wanted, filters=filters[spec.name]
        )
        found.extend((type_index, entry) for entry in batch)
        if len(batch) < wanted:
            type_index, after = type_index + 1, None
    if len(found) <= limit:
        return Page([entry for _, entry in found], None)
    last_index, last = found[limit - 1]
    return Page([entry for _, entry in found[:limit]], Cursor(last_index, last.key))


def audit_page(user: User, entries: list[Entry]) -> None:
    audit_record_many(
        actor=user,
        targets=[
            AuditTarget(entry.audit_type, entry.resource["id"], entry.patient_id)
            for entry in entries
            if entry.audit_type
        ],
    )


def searchset(*, base_url: str, self_url: str, next_url: str | None, page: Page) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timezone.now().isoformat(),
        "link": links,
    }
    if page.entries:
        bundle["entry"] = [
            {
                "fullUrl": f"{base_url}/{entry.resource['resourceType']}/{entry.resource['id']}",
                "resource": entry.resource,
                "search": {"mode": "match"},
            }
            for entry in page.entries
        ]
    return bundle
