"""The care-plan editor: a patient's plans (the open draft in an editor, the active plan, every
version), drafting from the latest intake, editing, publishing, discarding, comparing versions.

Thin, like the API (careplans/apis.py): parse -> call careplans' services and selectors ->
render. Who sees a plan and what is audited are careplans' (`access_care_plan`, built on the
patient's clinical visibility): a scheduler or another team's clinician gets the 404 a missing
patient gets. Who may change plans (clinicians on the care team; never coordinators, never under
break-glass) is asked once per page to show or hide the controls, and a POST from anyone else is
refused with 403 before any service runs; the services check again. docs/web-portal.md,
"Care-plan editor".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import CARE_TEAM_ROLES, Patient, Role, User
from carecore.accounts.page_guards import role_page
from carecore.audit.lists import audited_rows
from carecore.common.errors import ApplicationError
from careplans import selectors, services
from careplans.access import may_change_care_plans
from intake.selectors import INTAKE_SLUG, latest_completed_response, open_red_flag_reviews

from .guards import staff_user
from .plan_forms import CATEGORY_CHOICES, CompareForm, PlanEditor, version_label

if TYPE_CHECKING:
    from careplans.models import CarePlan

# The contract's plan status words (careplans.models.CarePlanStatus, which pages do not import).
DRAFT, ACTIVE = "draft", "active"

# The workspace's guard, with schedulers let through to careplans' access helpers, which answer
# them 404 (audited as denied) exactly as for a patient or plan that does not exist: a scheduler
# must not even learn that a plan exists. Patients and admins get the workspace's 403 page.
clinical_page = role_page(
    roles=CARE_TEAM_ROLES | {Role.SCHEDULER},
    refused_template="staff_web/refused.html",
    login_url="staff_web:sign-in",
)

CATEGORY_NAMES = dict(CATEGORY_CHOICES)
# The compared fields (careplans.selectors.*_FIELDS_COMPARED) as the editor labels them.
FIELD_NAMES = {
    "title": "Title",
    "instructions": "Instructions",
    "category": "Category",
    "instrument": "Measured with",
    "target_change": "Lower the score by at least",
    "due_date": "Due date",
    "repeat_every_weeks": "Check-in every (weeks)",
}


def _refused(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return render(request, "staff_web/plans/refused.html", {"patient_id": patient_id}, status=403)


def _draft_change_refusal(request: HttpRequest, user: User, plan: CarePlan) -> HttpResponse | None:
    """The page refusing a change to `plan` (the caller may not change this patient's plans:
    403; the plan is no longer a draft: the plans page with why), or None: go ahead."""
    if not may_change_care_plans(user=user, patient_id=plan.patient_id):
        return _refused(request, plan.patient_id)
    if plan.status != DRAFT:
        return _plan_page(
            request,
            plan.patient_id,
            refusal=services.NotADraft.default_message,
            status=services.NotADraft.status_code,
        )
    return None


def _versions(request: HttpRequest, patient: Patient) -> list[CarePlan]:
    """Every version of the patient's plan, newest first, without their items (each listed
    version audited, as an API list is)."""
    plans = (
        selectors.care_plan_list(user=staff_user(request), patient_id=patient.id)
        .prefetch_related(None)
        .order_by("-number")
    )
    return audited_rows(user=request.user, rows=plans, object_type="care_plan")


def _rows(formset: Any, items: list[Any]) -> list[dict[str, Any]]:
    """Each form of a formset with the goal or activity it edits (its rule, rationale and
    evidence are shown, not edited)."""
    by_id = {str(item.id): item for item in items}
    return [{"form": form, "item": by_id.get(str(form["id"].value()))} for form in formset.forms]


def _problems(editor: PlanEditor | None) -> list[dict[str, str]]:
    """The error summary: each field's error linked to its field, named by the item it is in."""
    if editor is None:
        return []
    groups: list[tuple[str, Any]] = [("", editor.summary)]
    groups += [(f"Goal {n}", form) for n, form in enumerate(editor.goals.forms, 1)]
    groups += [(f"Activity {n}", form) for n, form in enumerate(editor.activities.forms, 1)]
    groups += [("New activity", editor.new_activity)]
    problems = [{"text": str(text), "href": ""} for text in editor.problems]
    for formset in (editor.goals, editor.activities):
        problems += [{"text": str(text), "href": ""} for text in formset.non_form_errors()]
    for name, form in groups:
        problems += [{"text": str(text), "href": ""} for text in form.non_field_errors()]
        for field in form:
            for text in field.errors:
                label = f"{name}, {field.label}" if name else field.label
                problems.append({"text": f"{label}: {text}", "href": f"#{field.id_for_label}"})
    return problems


def _default_pair(versions: list[CarePlan]) -> dict[str, str]:
    """The newest version against the one before it (versions are newest first)."""
    return {"newer": str(versions[0].id), "older": str(versions[1].id)}


def _plan_page(
    request: HttpRequest,
    patient_id: UUID | str,
    *,
    editor: PlanEditor | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    """The patient's plans: the open draft (in the editor for those who may change it), the
    active plan, every version and the compare form."""
    user = staff_user(request)
    patient = access_patient(user=user, patient_id=patient_id, purpose=Purpose.CLINICAL)
    versions = _versions(request, patient)
    draft_id = next((plan.id for plan in versions if plan.status == DRAFT), None)
    active_id = next((plan.id for plan in versions if plan.status == ACTIVE), None)
    draft = selectors.care_plan_get(user=user, plan_id=draft_id) if draft_id else None
    active = selectors.care_plan_get(user=user, plan_id=active_id) if active_id else None
    can_change = may_change_care_plans(user=user, patient_id=patient.id)
    if draft is not None and can_change and editor is None:
        editor = PlanEditor.for_plan(draft)
    # The latest intake's completion date is shown only above the "Draft a plan" button (no
    # draft open, a caller who may draft), so it is read only then, and audited as the chart
    # audits the latest intake it shows (a LIST event of `questionnaire_response`).
    intake = (
        latest_completed_response(patient_id=patient.id, slug=INTAKE_SLUG)
        if draft is None and can_change
        else None
    )
    intakes_shown = audited_rows(
        user=user, rows=[intake] if intake else [], object_type="questionnaire_response"
    )
    return render(
        request,
        "staff_web/plans/care_plan.html",
        {
            "patient": patient,
            "versions": versions,
            "draft": draft,
            "active": active,
            "can_change": can_change,
            "editor": editor if can_change else None,
            "goal_rows": _rows(editor.goals, list(draft.goals.all())) if editor and draft else [],
            "activity_rows": (
                _rows(editor.activities, list(draft.activities.all())) if editor and draft else []
            ),
            "problems": _problems(editor) + ([{"text": refusal, "href": ""}] if refusal else []),
            # Shown in the header, so audited as any list of the patient's rows is.
            "red_flags": audited_rows(
                user=user, rows=open_red_flag_reviews(patient=patient), object_type="intake_review"
            ),
            "intake_completed_at": intakes_shown[0].completed_at if intakes_shown else None,
            "categories": CATEGORY_NAMES,
            "compare_form": (
                CompareForm(initial=_default_pair(versions), versions=versions)
                if len(versions) > 1
                else None
            ),
        },
        status=status,
    )


def _back_to_plan(patient_id: UUID | str, anchor: str = "") -> HttpResponse:
    response = redirect("staff_web:care_plan", patient_id=patient_id)
    response["Location"] += anchor
    return response


@require_http_methods(["GET", "POST"])
@clinical_page
def care_plan(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """The patient's plans; POST drafts a new version from the latest intake."""
    if request.method == "GET":
        return _plan_page(request, patient_id)
    user = staff_user(request)
    patient = access_patient(user=user, patient_id=patient_id, purpose=Purpose.CLINICAL)
    if not may_change_care_plans(user=user, patient_id=patient.id):
        return _refused(request, patient.id)
    try:
        plan = services.care_plan_draft(user=user, patient_id=patient.id)
    except ApplicationError as error:
        if error.status_code == 404:
            raise
        error.after_rollback()
        return _plan_page(request, patient.id, refusal=error.message, status=error.status_code)
    messages.success(
        request,
        f"Plan {plan.number} drafted from the latest intake. Check each activity, then publish.",
    )
    return _back_to_plan(patient.id, "#editor-title")


@require_POST
@clinical_page
def care_plan_edit(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    """Save the draft's summary, goals and activities (a new one added, ticked ones removed);
    with `action=publish`, publish it once saved."""
    user = staff_user(request)
    plan = selectors.care_plan_get(user=user, plan_id=plan_id)
    if (refused := _draft_change_refusal(request, user, plan)) is not None:
        return refused
    action = request.POST.get("action", "save")
    editor = PlanEditor.for_plan(plan, request.POST, adding=action == "add")
    if not editor.is_valid():
        return _plan_page(request, plan.patient_id, editor=editor)
    try:
        services.care_plan_edit(user=user, plan_id=plan.id, **editor.changes())
    except ApplicationError as error:
        if error.status_code == 404:
            raise
        error.after_rollback()
        if isinstance(error, services.DraftChanged):
            # The editor shows the draft as saved now; the refused edits would undo the save.
            return _plan_page(
                request, plan.patient_id, refusal=error.message, status=error.status_code
            )
        editor.problems.append(error.message)
        editor.problems += [str(text) for texts in error.fields.values() for text in texts]
        return _plan_page(request, plan.patient_id, editor=editor, status=error.status_code)
    if action != "publish":
        messages.success(request, "Draft saved.")
        return _back_to_plan(plan.patient_id, "#editor-title")
    try:
        services.care_plan_publish(user=user, plan_id=plan.id)
    except ApplicationError as error:
        if error.status_code == 404:
            raise
        error.after_rollback()
        # The edits are saved; only publishing waits (for a red-flag review, typically).
        refusal = f"Your changes are saved, but the plan is not published: {error.message}"
        return _plan_page(request, plan.patient_id, refusal=refusal, status=error.status_code)
    messages.success(request, f"Plan {plan.number} published. The patient can see it now.")
    return _back_to_plan(plan.patient_id)


@require_http_methods(["GET", "POST"])
@clinical_page
def care_plan_discard(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    """Ask, then discard the draft (published versions are the patient's record and stay)."""
    user = staff_user(request)
    plan = selectors.care_plan_get(user=user, plan_id=plan_id)
    if (refused := _draft_change_refusal(request, user, plan)) is not None:
        return refused
    if request.method == "POST":
        try:
            services.care_plan_discard(user=user, plan_id=plan.id)
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            return _plan_page(
                request, plan.patient_id, refusal=error.message, status=error.status_code
            )
        messages.success(request, f"Draft plan {plan.number} discarded.")
        return _back_to_plan(plan.patient_id)
    return render(request, "staff_web/plans/discard.html", {"plan": plan})


@require_GET
@clinical_page
def care_plan_version(request: HttpRequest, plan_id: UUID) -> HttpResponse:
    """One version as it is (or was) with every activity's rule, rationale and evidence."""
    plan = selectors.care_plan_get(user=staff_user(request), plan_id=plan_id)
    return render(
        request,
        "staff_web/plans/version.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "label": version_label(plan),
            "categories": CATEGORY_NAMES,
        },
    )


@require_GET
@clinical_page
def care_plan_compare(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """Two versions of the patient's plan side by side: what was added, removed and reworded.
    `?older=<plan id>&newer=<plan id>`; without them, the newest against the one before."""
    user = staff_user(request)
    patient = access_patient(user=user, patient_id=patient_id, purpose=Purpose.CLINICAL)
    versions = _versions(request, patient)
    comparison = None
    form = None
    if len(versions) > 1:
        chosen = request.GET if "older" in request.GET or "newer" in request.GET else None
        form = CompareForm(chosen or _default_pair(versions), versions=versions)
        if form.is_valid():
            comparison = selectors.care_plan_comparison(
                user=user,
                plan_id=form.cleaned_data["newer"],
                against_id=form.cleaned_data["older"],
            )
    return render(
        request,
        "staff_web/plans/compare.html",
        {
            "patient": patient,
            "form": form,
            "comparison": comparison,
            "older_label": version_label(comparison.older) if comparison else "",
            "newer_label": version_label(comparison.newer) if comparison else "",
            "field_names": FIELD_NAMES,
            "plan_url": reverse("staff_web:care_plan", kwargs={"patient_id": patient.id}),
        },
    )
