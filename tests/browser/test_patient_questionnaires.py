"""The gut-skin intake in a real browser: a branch shown as an answer changes, the progress
bar, "Save and continue later", then the whole intake submitted; axe-clean, CSP intact."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts.models import Patient
from intake import engine
from intake.models import QuestionnaireResponse, ResponseStatus
from tests.intake.test_intake_apis import healthy_intake

from .conftest import axe_violations
from .test_patient_sign_in import sign_in

pytestmark = pytest.mark.browser


def answer(page: Page, item: engine.Item, value: Any) -> None:
    if item.type == "boolean":
        group = page.get_by_role("group", name=item.text)
        group.get_by_label("Yes" if value else "No", exact=True).check()
    elif item.type in ("choice", "multi-choice"):
        group = page.get_by_role("group", name=item.text)
        displays = {option.code: option.display for option in item.options}
        for code in value if isinstance(value, list) else [value]:
            group.get_by_label(displays[code], exact=True).check()
    else:
        page.get_by_label(item.text).fill(str(value))


def test_it_completes_the_intake_with_a_branch_saving_half_way(
    page: Page, live_server: Any, patient: Patient, questionnaires: None
) -> None:
    definition = engine.load_definition("gut-skin-intake")
    items = definition.items_by_link_id
    answers = healthy_intake()
    sign_in(page, live_server.url, patient.user.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Questionnaires").click()
    page.get_by_role("link", name="Gut-skin intake").click()
    expect(page.get_by_role("heading", name="Gut-skin intake")).to_be_visible()
    assert axe_violations(page) == []

    # The branch: asked only after a yes to ongoing gut symptoms.
    branch = page.get_by_role("group", name=items["gut-symptoms-new"].text)
    expect(branch).to_be_hidden()
    answer(page, items["gut-symptoms"], True)
    expect(branch).to_be_visible()
    expect(page.get_by_text("1 of 37 questions answered")).to_be_visible()

    first_half = list(answers)[:10]
    for link_id in first_half:
        if link_id != "gut-symptoms":
            answer(page, items[link_id], answers[link_id])
    page.get_by_role("button", name="Save and continue later").click()
    expect(page.get_by_text("Your answers are saved.")).to_be_visible()
    saved = QuestionnaireResponse.objects.get(patient=patient)
    assert saved.status == ResponseStatus.IN_PROGRESS
    assert saved.answers["gut-symptoms"] is True

    for link_id in list(answers)[10:]:
        answer(page, items[link_id], answers[link_id])
    expect(page.get_by_text("37 of 37 questions answered")).to_be_visible()
    page.get_by_role("button", name="Submit answers").click()

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert axe_violations(page) == []
    saved.refresh_from_db()
    assert saved.status == ResponseStatus.COMPLETED
    assert saved.answers == answers
