"""The patient's pages in a real browser through a load balancer: two uvicorn processes behind
Debian's HAProxy (tests/test_load_balanced.py), each request landing on either.

The patient signs in (a cookie session and CSRF token made by one process, honoured by the
other), writes a message with a photo (uploaded through one process, served by whichever
answers next), and sees the care team's replies appear live: the page's WebSocket is tunnelled
to one process, and the replies are posted to each process in turn, so at least one crosses
from the other.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from carecore.accounts.services import token_issue
from messaging.models import Thread
from tests.realtime.test_uvicorn import api_post, running_uvicorn
from tests.test_load_balanced import running_haproxy

from .conftest import axe_violations
from .test_patient_messages import photo, write_new_message
from .test_patient_sign_in import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("announcer")
def test_a_patient_uses_the_pages_through_two_web_servers_behind_haproxy(
    transactional_db: None, page: Page, patient: Patient, clinician: Clinician, tmp_path: Path
) -> None:
    clinician_token = token_issue(user=clinician.user)
    with ExitStack() as stack:
        webs = [stack.enter_context(running_uvicorn(f"browser-balanced-{n}")) for n in (1, 2)]
        balancer = stack.enter_context(running_haproxy(webs, tmp_path))

        sign_in(page, f"http://{balancer}", patient.user.email)
        write_new_message(page, "Rash after a new cream", "It started two days ago.")
        page.get_by_label("Choose photos or files").set_input_files(photo(tmp_path))
        page.get_by_role("button", name="Send").click()

        expect(page.get_by_role("heading", name="Rash after a new cream")).to_be_visible()
        image = page.get_by_role("img", name="Photo 1 attached to this message")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.naturalWidth") == 40
        thread = Thread.objects.get(patient=patient)

        for number, web in enumerate(webs):  # one of them does not hold the page's socket
            api_post(
                web,
                f"/api/v1/threads/{thread.id}/messages/",
                clinician_token,
                {"body": f"Reply {number} from the care team."},
            )
            expect(page.get_by_text(f"Reply {number} from the care team.")).to_be_visible(
                timeout=15000
            )
        assert axe_violations(page) == []

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
        expect(page.get_by_role("link", name="Rash after a new cream")).to_be_visible()
