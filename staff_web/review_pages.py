"""The review queue ("Reviews"): pending intake reviews of the caller's patients, urgent first,
expedited next; one review with its answers, scores and changes since the patient's previous
response; complete it with an optional note.

Thin: intake's selectors and `review_complete` decide access (another team's review is a 404)
and who may complete (clinicians; a coordinator reads the queue but is refused completing; a
reader under break-glass reads only). A clinician whom the review's unanswered red-flag page was
escalated to, and who cannot read it, is offered break-glass instead of the 404
(docs/web-portal.md, "Called in on an escalation").
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecore.audit.lists import audited_page
from carecore.common.errors import ApplicationError
from intake import selectors, services
from patient_web.guards import form_errors

from .break_glass_pages import EscalationOffer, OfferWords
from .guards import care_team_page, staff_user

REVIEWS_PER_PAGE = 50


class CompleteForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@require_GET
@care_team_page
def review_list(request: HttpRequest) -> HttpResponse:
    reviews = selectors.review_queue(user=staff_user(request)).order_by(
        "-urgent", "-expedited", "created_at", "id"
    )
    page = Paginator(reviews, REVIEWS_PER_PAGE).get_page(request.GET.get("page"))
    shown = audited_page(user=request.user, page=page, object_type="intake_review")
    return render(request, "staff_web/reviews/list.html", {"reviews": shown, "page": page})


REVIEW_OFFER = EscalationOffer(
    words=OfferWords(
        title="Escalated review",
        heading="You were called in on an unanswered red flag",
        called_in="A patient's intake raised a red flag, nobody on their care team answered the "
        "page in time, and the escalation ladder called you in.",
        noun="review",
        not_allowed="complete it",
        to_act="act on it",
    ),
    id_name="review_id",
    page_route="staff_web:review",
    offer_route="staff_web:review-break-glass",
    offered=selectors.review_break_glass_offered,
    open_grant=services.review_break_glass_open,
)


@require_http_methods(["GET", "POST"])
@care_team_page
def review_detail(request: HttpRequest, review_id: Any) -> HttpResponse:
    return REVIEW_OFFER.page_or_offer(request, review_id, _review_page)


@require_POST
@care_team_page
def review_break_glass(request: HttpRequest, review_id: Any) -> HttpResponse:
    """Open break-glass access from the offer (`REVIEW_OFFER`), then read the review."""
    return REVIEW_OFFER.open_and_read(request, review_id)


def _review_page(request: HttpRequest, review_id: Any) -> HttpResponse:
    user = staff_user(request)
    form = CompleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_complete(user=user, review_id=review_id, note=form.cleaned_data["note"])
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            form_errors(form, error)
        else:
            return redirect("staff_web:review", review_id=review_id)
    review = selectors.review_get(user=user, review_id=review_id)
    # False for a reader under break-glass: read-only, so no completion form.
    writable = selectors.review_writable(user=user, review_id=review_id)
    return render(
        request,
        "staff_web/reviews/detail.html",
        {
            "review": review,
            "answers": selectors.answers_with_questions(review.response),
            "changes": review.changes_since_previous,  # type: ignore[attr-defined]
            "form": form,
            "can_complete": writable and user.role == "clinician" and review.status == "pending",
            "writable": writable,
        },
    )


@require_GET
@care_team_page
def review_moved(request: HttpRequest, review_id: Any) -> HttpResponse:
    """`/reviews/<id>/`, where intake-review notifications linked before the workspace existed:
    the same guard (signed out -> the workspace's sign-in), then to the review page itself."""
    return redirect("staff_web:review", review_id=review_id)
