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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from carecore.accounts.selectors import break_glass_grant_get
from carecore.common.errors import ApplicationError, NotFound
from patient_web.guards import form_errors

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


@dataclass(frozen=True)
class EscalationOffer:
    """A record's page (a thread, a review) that offers break-glass instead of its 404 to a
    clinician an escalation of that record called in: the record's own rule (`offered`) and
    service (`open_grant`), routes and words; the pages call `page_or_offer` and `open_and_read`.
    """

    words: OfferWords
    id_name: str  # the routes' id keyword: "thread_id", "review_id"
    page_route: str  # the record's page, read once the grant is open
    offer_route: str  # where the offer's form posts
    offered: Callable[..., bool]  # (user=..., <id_name>=...): the selector deciding the offer
    open_grant: Callable[..., Any]  # (actor=..., <id_name>=..., reason=...): the service

    def page_or_offer(
        self, request: HttpRequest, record_id: Any, page: Callable[[HttpRequest, Any], HttpResponse]
    ) -> HttpResponse:
        """The record's page; if it is refused (and audited as denied) to a clinician the
        record's escalation called in, the offer instead of the bare 404. Anyone else, and any
        write, gets the 404."""
        try:
            return page(request, record_id)
        except NotFound as error:
            offered = request.method == "GET" and self.offered(
                user=staff_user(request), **{self.id_name: record_id}
            )
            if not offered:
                raise
            error.after_rollback()
        return self._offer(request, record_id, BreakGlassReasonForm())

    def open_and_read(self, request: HttpRequest, record_id: Any) -> HttpResponse:
        """Open break-glass access from the offer's form, then read the record; a reason the
        service refuses comes back on the form."""
        form = BreakGlassReasonForm(request.POST)
        form.is_valid()  # nothing of its own to refuse: the service checks the reason
        try:
            self.open_grant(
                actor=staff_user(request),
                reason=form.cleaned_data.get("reason", ""),
                **{self.id_name: record_id},
            )
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            form_errors(form, error)
            return self._offer(request, record_id, form)
        return redirect(self.page_route, **{self.id_name: record_id})

    def _offer(
        self, request: HttpRequest, record_id: Any, form: BreakGlassReasonForm
    ) -> HttpResponse:
        action = reverse(self.offer_route, kwargs={self.id_name: record_id})
        return break_glass_offer(request, words=self.words, action=action, form=form)


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
