"""The guard every browser test relies on does catch what it is there to catch."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext

from .conftest import PageGuard

pytestmark = pytest.mark.browser


def test_it_records_and_aborts_a_request_that_leaves_this_machine(
    context: BrowserContext,
) -> None:
    guarded = context.new_page()
    guard = PageGuard()
    guarded.route("**/*", guard.route)
    # A page without our CSP (which would block the image before it is requested).
    guarded.set_content('<img alt="" src="https://cdn.example.com/pixel.png">')
    guarded.wait_for_timeout(300)

    assert guard.outside_requests == ["https://cdn.example.com/pixel.png"]


def test_it_records_an_inline_script_that_our_policy_blocks(
    context: BrowserContext, live_server: object
) -> None:
    guarded = context.new_page()
    guard = PageGuard()
    guarded.on("console", guard.console)
    guarded.goto(f"{live_server.url}/api/docs/")  # type: ignore[attr-defined]

    guarded.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.append(script);
        }"""
    )
    guarded.wait_for_timeout(300)

    assert guard.csp_violations, "the inline script was not reported as a CSP violation"
    assert guarded.evaluate("() => window.inlineRan === undefined")
