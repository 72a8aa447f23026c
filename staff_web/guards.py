"""What every workspace page shares (docs/web-portal.md, "Care-team workspace").

- `care_team_page`: signed in (else to the workspace's sign-in page, coming back afterwards), a
  clinician or coordinator (schedulers, patients and admins get the workspace's 403 page: a
  scheduler never sees message bodies, a patient has the portal, the admin the Django admin),
  and a domain 404 (a thread of another team's patient, or none at all) rendered as a 404 page
  after its audit event is made to outlive the rollback. Access itself stays with the services
  and selectors: this only keeps each role on its own pages.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from carecore.accounts.models import CARE_TEAM_ROLES, User
from carecore.accounts.page_guards import role_page


def staff_user(request: HttpRequest) -> User:
    """The request's user, behind `care_team_page` always a signed-in clinician or coordinator."""
    return cast(User, request.user)


care_team_page = role_page(
    roles=CARE_TEAM_ROLES,
    refused_template="staff_web/refused.html",
    login_url="staff_web:sign-in",
)
