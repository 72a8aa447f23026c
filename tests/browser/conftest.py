"""Browser tests: Debian's Chromium driven by Playwright against a live server.

- Chromium comes from the system (`apt-get install chromium`): Playwright cannot download its
  own browser here. `make test` installs it or stops with a message (scripts/dev.py); nothing is
  skipped silently.
- Every page a test opens is guarded: a request to any host but 127.0.0.1/localhost is aborted
  and recorded, and so is every Content-Security-Policy violation the browser reports; the test
  fails on either when it ends.
- `axe_violations(page)` runs axe-core (vendored from npm, tests/browser/vendor/) in the page.
- A screenshot of every page a test visited is saved under var/screenshots/ on every run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, Route

from tests.worker import WorkerProcess, purge_broker, running_worker

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "tests/browser/vendor/axe-core/4.14.1/axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# Playwright's sync API runs an event loop in this thread; Django refuses database access from a
# thread with a running loop unless told that this is deliberate (test code, not a request).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str:
    path = os.environ.get("CARECORE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Chromium is not installed: run `apt-get install chromium` (Debian/Ubuntu) or set "
            "CARECORE_CHROMIUM to a Chromium binary. `make test` installs it when it can."
        )
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": ["--no-sandbox", "--disable-dev-shm-usage"],
    }


class PageGuard:
    """What a page did that it must not: leave this machine, or break the CSP."""

    def __init__(self) -> None:
        self.outside_requests: list[str] = []
        self.csp_violations: list[str] = []

    def route(self, route: Route, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
            return
        self.outside_requests.append(request.url)
        route.abort()

    def console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)


@pytest.fixture
def page(page: Page, request: pytest.FixtureRequest) -> Iterator[Page]:
    """pytest-playwright's page, guarded, with a screenshot of each visited page at the end."""
    guard = PageGuard()
    page.route("**/*", guard.route)
    page.on("console", guard.console)
    visited: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: visited.append(frame.url) if frame == page.main_frame else None,
    )
    yield page
    _save_screenshot(page, request.node.name)
    assert guard.outside_requests == [], "requests left 127.0.0.1"
    assert guard.csp_violations == [], "Content-Security-Policy violations"


def _save_screenshot(page: Page, test_name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name)
    if not page.is_closed():
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations of the given impacts on the current page.

    The script is evaluated through the DevTools protocol, which the page's CSP does not govern,
    so the policy under test stays as strict as in production.
    """
    page.evaluate(AXE_SCRIPT.read_text())
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
        })"""
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}"
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


@pytest.fixture
def announcer(transactional_db: None) -> Iterator[WorkerProcess]:
    """A real Celery worker on the urgent queue, as `make run` has: it announces each message
    sent (its notifications and feed events, messaging/announcements.py), so a page sees a
    message arrive. Without it the messages would wait for a worker that never comes."""
    purge_broker()
    with running_worker(log_name="browser-announcer", queues=("urgent",)) as worker:
        yield worker
