"""The patient portal's front door in a real browser: sign up, sign out, sign in, the home page
and a staff account refused; no request leaves 127.0.0.1, no CSP violation, axe clean."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from tests.factories import TEST_PASSWORD

from .conftest import axe_violations

pytestmark = pytest.mark.browser

NAVIGATION = ["Home", "Messages", "Book a visit", "Questionnaires", "Care plan", "Progress"]


def sign_in(page: Page, base: str, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_it_signs_a_patient_up_out_and_in(
    page: Page, live_server: Any, clinician: Clinician
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("link", name="Create an account").click()
    assert axe_violations(page) == []
    page.get_by_label("First name").fill("Samantha")
    page.get_by_label("Last name").fill("Ortiz")
    page.get_by_label("Email").fill("sam@example.test")
    page.get_by_label("Password").fill("short")
    page.get_by_label("Date of birth").fill("1990-04-02")
    page.get_by_label("State you live in").select_option("NY")
    page.get_by_role("button", name="Create account").click()

    # The service's password rule, in the summary and next to its field.
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Password:").first.click()
    expect(page.get_by_label("Password")).to_be_focused()
    page.get_by_label("Password").fill("a long passphrase 42")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Hello, Samantha")).to_be_visible()
    main_nav = page.get_by_role("navigation", name="Main")
    for name in ["Home"]:
        expect(main_nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, live_server.url, "sam@example.test", "a long passphrase 42")
    expect(page.get_by_role("heading", name="Hello, Samantha")).to_be_visible()


def test_it_keeps_the_skip_link_first_and_working(
    page: Page, live_server: Any, patient: Patient
) -> None:
    sign_in(page, live_server.url, patient.user.email)
    expect(page.get_by_role("heading", name="Your next visit")).to_be_visible()

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


def test_it_refuses_a_clinician_the_patient_pages(
    page: Page, live_server: Any, clinician: Clinician
) -> None:
    sign_in(page, live_server.url, clinician.user.email)  # lands in the care-team workspace
    page.goto(f"{live_server.url}/messages/")

    expect(page.get_by_role("heading", name="These pages are for patients")).to_be_visible()
    assert axe_violations(page) == []
