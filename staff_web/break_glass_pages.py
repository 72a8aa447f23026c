"""A break-glass grant for the patient's care team (`/staff/break-glass/<id>/`): who opened
emergency access to which patient, when, until when and why.

The lead clinician's break-glass notice links here (`carecore.notifications.links.page_for`);
admins' copies link to the grant in the administration site. Who sees a grant is
`carecore.accounts.access.access_break_glass_grant`: the patient's care team only, so another
team's clinician (the grant's holder included), and an id that does not exist, get the same
audited 404 (docs/web-portal.md, "Break-glass grants").

Also the offer a clinician called in on an escalation sees instead of a thread's or a review's
404 (`break_glass_offer`; docs/web-portal.md, "Called in on an escalation").
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from carecore.accounts.selectors import break_glass_grant_get

from .forms import BreakGlassReasonForm
from .guards import care_team_page, staff_user


@dataclass(frozen=True)
class OfferWords:
    """What the break-glass offer says of the record it stands in for (a thread, a review)."""

    title: str  # the page's <title>
    heading: str
    called_in: str  # how the escalation ladder came to call the reader in
    noun: str  # "thread", "review": "read the <noun>"
    not_allowed: str  # the writes the read-only grant does not allow: "... but not <this>"
    to_act: str  # "To <this>, ask their care team ..."


def break_glass_offer(
    request: HttpRequest, *, words: OfferWords, action: str, form: BreakGlassReasonForm
) -> HttpResponse:
    """The page a clinician called in on an escalation sees instead of a record they may not
    read: that much (which their notice told them), and the break-glass form posting to
    `action`. Nothing of the patient or the record's text. 403: the record is refused to them
    until they open a grant."""
    return render(
        request,
        "staff_web/break_glass/offer.html",
        {
            "offer": words,
            "action": action,
            "form": form,
            "grant_minutes": settings.CARECORE_BREAK_GLASS_MINUTES,
        },
        status=403,
    )


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
