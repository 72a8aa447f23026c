"""The portal pages that notifications point at: every page path in one place.

A notification's `link_path` is the path of a page of the patient and staff portal (not of the
API); e-mail and SMS put it after `CARECORE_PORTAL_URL`, the in-app list returns it as is. The
portal pages are built by the web issues; these are the paths they will have, so that links
sent today keep working then (docs/notifications.md, "Links"). Paths hold route words and
opaque ids only: `check_link_path` refuses anything else.
"""

from __future__ import annotations

import re
from uuid import UUID

from django.conf import settings

from carecore.accounts.models import CARE_TEAM_ROLES, Role


def thread_page(thread_id: UUID | str) -> str:
    """A secure-messaging thread (patient and care team)."""
    return f"/messages/{thread_id}/"


def visit_page(appointment_id: UUID | str) -> str:
    """A video visit: time, clinician, join button. The patient's page; staff open the
    workspace's page of the same visit, `/staff/visits/<id>/` (`page_for`)."""
    return f"/visits/{appointment_id}/"


def previsit_summary_page(appointment_id: UUID | str) -> str:
    """The clinician's pre-visit summary of one visit, in the care-team workspace (/staff/).
    Links sent before it moved there (`/visits/<id>/summary/`) are redirected to it."""
    return f"/staff/visits/{appointment_id}/summary/"


def care_plan_page() -> str:
    """The patient's current care plan (a patient has one active plan at a time)."""
    return "/care-plan/"


def questionnaire_page(slug: str) -> str:
    """A questionnaire to fill in, e.g. the gut-skin intake or a check-in instrument."""
    return f"/questionnaires/{slug}/"


def intake_review_page(review_id: UUID | str) -> str:
    """A clinician's review of one submitted questionnaire, in the care-team workspace.
    Links sent before it moved there (`/reviews/<id>/`) are redirected to it."""
    return f"/staff/reviews/{review_id}/"


def break_glass_grant_page(grant_id: UUID | str) -> str:
    """One break-glass grant (who, when, until when, the reason) for its reviewers: the
    patient's care team in the workspace, admins in the administration site (`page_for`).
    Links sent before the workspace page existed (this path itself) are redirected to it."""
    return f"/break-glass/{grant_id}/"


# One notification names one object for everyone it tells; each opens it where their role
# works: the patient in the portal, the care team in the workspace (/staff/), admins in the
# administration site. (portal path, roles, their page)
_PAGES_BY_ROLE = [
    (re.compile(r"/messages/(?P<id>[0-9a-f-]{36})/"), CARE_TEAM_ROLES, "/staff/threads/{id}/"),
    # A visit booked, moved or cancelled (reminders go to the patient only): the visit itself
    # (status, time, actions), for every role that works on the schedule; its pre-visit summary
    # has its own notice.
    (
        re.compile(r"/visits/(?P<id>[0-9a-f-]{36})/"),
        CARE_TEAM_ROLES | {Role.SCHEDULER},
        "/staff/visits/{id}/",
    ),
    (
        re.compile(r"/break-glass/(?P<id>[0-9a-f-]{36})/"),
        {Role.ADMIN},
        "/admin/accounts/breakglassgrant/{id}/change/",
    ),
    # The patient's lead clinician is told too; the page shows the grant to the care team.
    (
        re.compile(r"/break-glass/(?P<id>[0-9a-f-]{36})/"),
        CARE_TEAM_ROLES,
        "/staff/break-glass/{id}/",
    ),
]


def page_for(link_path: str, *, role: str) -> str:
    """The page a recipient with `role` opens for a notification's `link_path`."""
    for portal_path, roles, page in _PAGES_BY_ROLE:
        found = portal_path.fullmatch(link_path)
        if found and role in roles:
            return page.format(id=found["id"])
    return link_path


def absolute_url(link_path: str) -> str:
    """The public URL of a portal page, on `CARECORE_PORTAL_URL`."""
    return f"{settings.CARECORE_PORTAL_URL.rstrip('/')}{link_path or '/'}"


def password_reset_page(uidb64: str, token: str) -> str:
    """Choosing a new password from a reset link (Django's one-time token); the patient
    portal's page, also where the admin's "send a password reset e-mail" points."""
    return f"/password-reset/{uidb64}/{token}/"
