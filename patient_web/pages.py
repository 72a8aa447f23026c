"""The patient portal's pages: parse -> call a service or selector -> render a template.

Like the APIs, these views hold no rules of their own: access, audit, throttles and lockout are
the services' and selectors' (docs/web-portal.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from carecore.accounts import services as account_services
from carecore.accounts.models import CARE_TEAM_ROLES
from carecore.accounts.throttles import sign_up_throttled
from carecore.audit.lists import audited_rows
from carecore.common.errors import ApplicationError
from careplans.selectors import care_plan_list, check_ins_due
from intake.selectors import INTAKE_SLUG, response_list
from messaging.selectors import unread_total
from portal.selectors import appointment_list
from portal.video import join_url_for

from .forms import ResetPasswordForm, SignInForm, SignUpForm
from .guards import (
    auth_throttled,
    form_errors,
    local_next_url,
    patient_page,
    sign_in_attempt,
    throttle_exempt,
    too_many,
)


def _next_url(request: HttpRequest) -> str:
    return local_next_url(request, "/")


# --- signing in and out -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_next_url(request))
    form = SignInForm(request.POST or None)
    needs_code = False
    if request.method == "POST":
        attempt = sign_in_attempt(request, form)
        if attempt.refused is not None:
            return attempt.refused
        if attempt.user is not None:
            wanted = _next_url(request)
            if wanted == "/" and attempt.user.role in CARE_TEAM_ROLES:
                # Clinicians and coordinators land in their workspace (staff_web/).
                return redirect("staff_web:inbox")
            return redirect(wanted)
        needs_code = attempt.needs_code
    return render(
        request,
        "patient_web/sign_in.html",
        {"form": form, "needs_code": needs_code, "next": _next_url(request)},
    )


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if auth_throttled(request) or sign_up_throttled(request):
            return too_many(request)
        if form.is_valid():
            fields = form.cleaned_data
            try:
                sign_up = account_services.patient_sign_up(
                    email=fields["email"],
                    password=fields["password"],
                    first_name=fields["first_name"],
                    last_name=fields["last_name"],
                    date_of_birth=fields["date_of_birth"],
                    state=fields["state"],
                    timezone_name=fields["timezone"],
                    phone=fields["phone"],
                    issue_token=False,
                )
            except ApplicationError as error:
                error.after_rollback()
                if error.status_code == 429:
                    return too_many(request)
                form_errors(form, error)
            else:
                if not sign_up.created:
                    # The address has an account (its owner is told by e-mail): no session,
                    # the sign-in page (docs/security.md, "Sign-up enumeration").
                    return redirect("patient_web:sign-in")
                account_services.auth_session_login(
                    request=request, email=sign_up.user.email, password=fields["password"]
                )
                return redirect("patient_web:home")
    return render(request, "patient_web/sign_up.html", {"form": form})


# Signing out is never refused for being over the request budget (a shared device).
@throttle_exempt
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    account_services.auth_session_logout(request=request)
    return redirect("patient_web:sign-in")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request: the same answer whether or not the address has an account; the
    link goes to the portal's public address. Throttled per ip with sign-in (mail bombing)."""

    template_name = "patient_web/password_reset.html"
    email_template_name = "patient_web/email/password_reset.txt"
    subject_template_name = "patient_web/email/password_reset_subject.txt"
    success_url = reverse_lazy("patient_web:password-reset-sent")
    extra_email_context = {"portal_url": settings.CARECORE_PORTAL_URL.rstrip("/")}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if auth_throttled(request):
            return too_many(request)
        return super().post(request, *args, **kwargs)


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "patient_web/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "patient_web/password_reset_confirm.html"
    form_class = ResetPasswordForm
    success_url = reverse_lazy("patient_web:password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "patient_web/password_reset_complete.html"


# --- home -----------------------------------------------------------------------------------------


def _joinable_from(start: Any) -> Any:
    return start - timedelta(minutes=settings.CARECORE_JITSI_EARLY_JOIN_MINUTES)


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("patient_web:sign-in")
    return _home(request)


@patient_page
def _home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    now = timezone.now()
    next_visits = audited_rows(
        user=user,
        rows=appointment_list(user=user, status="booked", upcoming=True).order_by("start_at")[:1],
        object_type="appointment",
    )
    next_visit = next_visits[0] if next_visits else None
    plans = audited_rows(
        user=user,
        rows=care_plan_list(user=user, status="active").order_by("-published_at")[:1],
        object_type="care_plan",
    )
    in_progress = audited_rows(
        user=user,
        rows=response_list(user=user, status="in_progress").order_by("-updated_at")[:5],
        object_type="questionnaire_response",
    )
    intakes_done = audited_rows(
        user=user,
        rows=response_list(user=user, questionnaire=INTAKE_SLUG, status="completed").order_by(
            "-completed_at"
        )[:1],
        object_type="questionnaire_response",
    )
    check_ins = audited_rows(
        user=user,
        rows=check_ins_due(user=user, now=now)[:5],
        object_type="check_in",
    )
    return render(
        request,
        "patient_web/home.html",
        {
            "next_visit": next_visit,
            "join_url": join_url_for(next_visit, user)
            if next_visit and now >= _joinable_from(next_visit.start_at)
            else "",
            "joinable_from": _joinable_from(next_visit.start_at) if next_visit else None,
            "unread": unread_total(user),
            "plan": plans[0] if plans else None,
            "in_progress": in_progress,
            "intake_slug": INTAKE_SLUG,
            "intake_done": intakes_done[0] if intakes_done else None,
            "in_progress_intake": any(
                response.version.questionnaire.slug == INTAKE_SLUG for response in in_progress
            ),
            "check_ins": check_ins,
        },
    )
