"""The care plan: the active plan's goals and activities with their instructions, and the
check-ins due. Thin: careplans' selectors decide what the patient may see (published plans
only) and audit the read."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carecore.audit.lists import audited_rows
from careplans import selectors

from .guards import patient_page, signed_in


@require_GET
@patient_page
def care_plan(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    # Which plan is active is not itself shown; the plan is read (and audited) through its
    # access helper, as GET /api/v1/care-plans/<id>/ does.
    active_id = (
        selectors.care_plan_list(user=user, status="active")
        .order_by("-published_at")
        .values_list("id", flat=True)
        .first()
    )
    plan = selectors.care_plan_get(user=user, plan_id=active_id) if active_id else None
    check_ins = audited_rows(
        user=user, rows=selectors.check_ins_due(user=user)[:20], object_type="check_in"
    )
    return render(request, "patient_web/care_plan.html", {"plan": plan, "check_ins": check_ins})
