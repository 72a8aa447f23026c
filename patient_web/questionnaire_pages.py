"""Questionnaires: any published definition rendered as a form (choice, multi-choice, boolean,
integer, decimal, text, date), saved in progress or submitted through intake's services, with
intake's errors next to their questions and its red-flag guidance shown at once."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from carecore.audit.lists import audited_rows
from carecore.common.errors import ApplicationError
from intake import engine, selectors, services

from .guards import patient_page, signed_in

FIELD_PREFIX = "q-"


def _field_value(item: engine.Item, data: QueryDict) -> Any:
    """The answer the form sent for one item, in the API's JSON shape (None: not answered).
    Numbers that do not parse are passed on as text, for intake to refuse with its message."""
    name = FIELD_PREFIX + item.link_id
    if item.type == "multi-choice":
        chosen = set(data.getlist(name))
        return [code for code in item.option_codes if str(code) in chosen] or None
    raw = data.get(name, "").strip()
    if not raw:
        return None
    if item.type == "choice":
        codes = {str(code): code for code in item.option_codes}
        return codes.get(raw, raw)
    if item.type == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if item.type in ("integer", "decimal"):
        try:
            return int(raw) if item.type == "integer" else float(raw)
        except ValueError:
            return raw
    return raw


def answers_from_form(definition: engine.Definition, data: QueryDict) -> dict[str, Any]:
    """The form's answers to the items its own answers enable (a question hidden by a later
    change keeps its old input in the page, but is not an answer)."""
    answers = {
        item.link_id: value
        for item in definition.items
        if (value := _field_value(item, data)) is not None
    }
    enabled = engine.enabled_link_ids(definition, answers)
    return {link_id: value for link_id, value in answers.items() if link_id in enabled}


def _questions(
    definition: engine.Definition, answers: dict[str, Any], errors: dict[str, Any]
) -> list[dict[str, Any]]:
    enabled = engine.enabled_link_ids(definition, answers)
    questions = []
    for number, item in enumerate(definition.items, start=1):
        value = answers.get(item.link_id)
        chosen = {str(each) for each in value} if isinstance(value, list) else {str(value)}
        if isinstance(value, bool):
            chosen = {"true" if value else "false"}
        questions.append(
            {
                "item": item,
                "number": number,
                "name": FIELD_PREFIX + item.link_id,
                "value": "" if value is None else value,
                "chosen": chosen,
                "enabled": item.link_id in enabled,
                "errors": errors.get(item.link_id, []),
                "enable_when": json.dumps(
                    [
                        {"question": c.question, "operator": c.operator, "answer": c.answer}
                        for c in item.enable_when
                    ]
                )
                if item.enable_when
                else "",
            }
        )
    return questions


@require_GET
@patient_page
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    in_progress = audited_rows(
        user=user,
        rows=selectors.response_list(user=user, status="in_progress").order_by("-updated_at"),
        object_type="questionnaire_response",
    )
    completed = audited_rows(
        user=user,
        rows=selectors.response_list(user=user, status="completed").order_by("-completed_at")[:20],
        object_type="questionnaire_response",
    )
    return render(
        request,
        "patient_web/questionnaires/list.html",
        {
            "questionnaires": selectors.questionnaire_current_list().order_by(
                "questionnaire__title"
            ),
            "in_progress": in_progress,
            "completed": completed,
        },
    )


def _in_progress(request: HttpRequest, slug: str) -> Any:
    user = signed_in(request)
    rows = audited_rows(
        user=user,
        rows=selectors.response_list(user=user, questionnaire=slug, status="in_progress").order_by(
            "-updated_at"
        )[:1],
        object_type="questionnaire_response",
    )
    return rows[0] if rows else None


@require_http_methods(["GET", "POST"])
@patient_page
def questionnaire_form(request: HttpRequest, slug: str) -> HttpResponse:
    user = signed_in(request)
    current = selectors.questionnaire_current(slug=slug)
    if current is None:
        raise Http404
    response = _in_progress(request, slug)
    # A response pins its version (intake validates and scores it against that version): one
    # saved before a newer version was published is drawn, and finished, with its own questions.
    version = response.version if response is not None else current
    definition = engine.parse_definition(version.definition)
    answers: dict[str, Any] = dict(response.answers) if response else {}
    errors: dict[str, Any] = {}
    problem = ""
    if request.method == "POST":
        answers = answers_from_form(definition, request.POST)
        status = "completed" if request.POST.get("action") == "submit" else "in_progress"
        try:
            if response is None:
                response = services.response_create(
                    user=user, slug=slug, answers=answers, status=status
                )
            else:
                response = services.response_update(
                    user=user, response_id=response.id, answers=answers, status=status
                )
        except ApplicationError as error:
            error.after_rollback()
            errors = error.fields
            problem = error.message
        else:
            if status == "completed":
                return redirect("patient_web:questionnaire-done", response_id=response.id)
            return redirect(reverse("patient_web:questionnaire", args=[slug]) + "?saved=1")
    questions = _questions(definition, answers, errors)
    enabled = [question for question in questions if question["enabled"]]
    return render(
        request,
        "patient_web/questionnaires/form.html",
        {
            "version": version,
            "definition": definition,
            "questions": questions,
            "answered": sum(1 for question in enabled if engine.is_answered(question["value"])),
            "enabled_count": len(enabled),
            "errors": [
                (question, message) for question in questions for message in question["errors"]
            ],
            "general_errors": errors.get(engine.NON_FIELD_KEY, []),
            "problem": problem,
            "saved": request.GET.get("saved") == "1" and not errors,
            "guidance": selectors.response_guidance(response) if response else None,
        },
    )


@require_GET
@patient_page
def questionnaire_done(request: HttpRequest, response_id: UUID) -> HttpResponse:
    response = selectors.response_get(user=signed_in(request), response_id=response_id)
    return render(
        request,
        "patient_web/questionnaires/done.html",
        {"response": response, "guidance": selectors.response_guidance(response)},
    )
