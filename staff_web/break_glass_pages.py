"""A break-glass grant for the patient's care team (`/staff/break-glass/<id>/`): who opened
emergency access to which patient, when, until when and why.

The lead clinician's break-glass notice links here (`carecore.notifications.links.page_for`);
admins' copies link to the grant in the administration site. Who sees a grant is
`carecore.accounts.access.access_break_glass_grant`: the patient's care team only, so another
team's clinician (the grant's holder included), and an id that does not exist, get the same
audited 404 (docs/web-portal.md, "Break-glass grants").
"""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from carecore.accounts.selectors import break_glass_grant_get

from .guards import care_team_page, staff_user


@require_GET
@care_team_page
def break_glass_grant(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    grant = break_glass_grant_get(user=staff_user(request), grant_id=grant_id)
    return render(
        request,
        "staff_web/break_glass/grant.html",
        {"grant": grant, "still_open": grant.expires_at > timezone.now()},
    )


@require_GET
@care_team_page
def break_glass_grant_moved(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    """`/break-glass/<id>/`, which lead clinicians' notices named before this page existed:
    the same guard (signed out -> the workspace's sign-in), then to the page itself."""
    return redirect("staff_web:break_glass_grant", grant_id=grant_id)
