"""The interactive API docs render in a real browser from our own server, under the strict CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_it_renders_the_api_docs_with_no_outside_request_and_no_csp_violation(
    page: Page, live_server: object
) -> None:
    page.goto(f"{live_server.url}/api/docs/")  # type: ignore[attr-defined]

    # Swagger UI fetched the schema from us and drew its operations.
    expect(page.get_by_role("heading", name="CareCore API")).to_be_visible()
    expect(page.get_by_text("/api/v1/auth/login/").first).to_be_visible()
