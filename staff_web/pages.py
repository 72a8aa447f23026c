"""The care-team workspace: sign in, the shared inbox (claim, release, assign, close, reopen in
place; the list alone for the page's live refresh) and a thread with its patient header, reply
and internal-note composers.

Thin like the APIs: parse -> call messaging's services and selectors -> render. Who sees which
thread, what is audited and how the first-response clock runs are theirs (docs/web-portal.md,
"Care-team workspace").
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecore.accounts import services as account_services
from carecore.accounts.models import CARE_TEAM_ROLES
from carecore.accounts.selectors import assignable_staff_by_patient, patient_with_care_team
from carecore.audit.lists import audited_page, audited_rows
from carecore.common.errors import ApplicationError
from carecore.realtime.selectors import latest_seq
from intake.selectors import open_red_flag_reviews
from messaging import selectors, services
from patient_web.guards import form_errors, local_next_url, sign_in_attempt, throttle_exempt

from .break_glass_pages import EscalationOffer, OfferWords
from .forms import (
    INBOX_FILTERS,
    ComposeForm,
    StaffSignInForm,
    new_client_id,
)
from .guards import care_team_page, staff_user

THREADS_PER_PAGE = 50
# A thread opens on its latest messages, as the patient's does; "Show N earlier messages" shows
# (and audits) the rest.
LATEST_SHOWN = 50


# --- signing in and out -------------------------------------------------------------------------


def _after_sign_in(request: HttpRequest) -> str:
    # Schedulers have no inbox (never message bodies): their first page is the schedule.
    role = getattr(request.user, "role", None)
    first = "staff_web:schedule" if role == "scheduler" else "staff_web:inbox"
    return local_next_url(request, reverse(first))


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """The portal's sign-in (same service: lockout, throttles, MFA, audit) in the workspace's
    frame: a second step asks for the authenticator code when the account needs one."""
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_after_sign_in(request))
    form = StaffSignInForm(request.POST or None)
    needs_code = False
    if request.method == "POST":
        attempt = sign_in_attempt(request, form)
        if attempt.refused is not None:
            return attempt.refused
        if attempt.user is not None:
            return redirect(_after_sign_in(request))
        needs_code = attempt.needs_code
    return render(
        request,
        "staff_web/sign_in.html",
        {
            "form": form,
            "needs_code": needs_code,
            "next": local_next_url(request, ""),
            "idle_minutes": settings.CARECORE_STAFF_IDLE_MINUTES,
        },
    )


# Signing out is never refused for being over the request budget (a shared clinic machine).
@throttle_exempt
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    account_services.auth_session_logout(request=request)
    return redirect("staff_web:sign-in")


# --- the shared inbox -----------------------------------------------------------------------------


def _inbox_threads(request: HttpRequest, show: str) -> QuerySet[Any]:
    user = staff_user(request)
    if show == "mine":
        threads = selectors.thread_list(user=user, assigned="me")
    elif show == "unassigned":
        threads = selectors.thread_list(user=user, assigned="none")
    elif show == "urgent":
        threads = selectors.thread_list(user=user, urgent=True)
    elif show == "overdue":
        threads = selectors.thread_list(user=user, overdue=True)
    elif show == "closed":
        return selectors.thread_list(user=user, status="closed").order_by("-last_message_at", "-id")
    else:
        threads = selectors.thread_list(user=user)
    # Urgent first ("urgent" > "soon" > "routine" as text), then the earliest clock, then (for
    # the same promise, as after hours, when every clock runs from the next opening) whoever
    # has waited longest, then the most recent activity.
    return threads.exclude(status="closed").order_by(
        "-priority",
        F("first_response_due_at").asc(nulls_last=True),
        F("awaiting_since").asc(nulls_last=True),
        "-last_message_at",
        "-id",
    )


def _with_assignees(threads: list[Any]) -> list[Any]:
    """Each thread with whom it may be assigned to (`thread.assignable`): one query per page."""
    staff = assignable_staff_by_patient(patient_ids={thread.patient_id for thread in threads})
    for thread in threads:
        thread.assignable = staff.get(thread.patient_id, [])
        # Still shown as the holder when they may no longer be assigned (see the template).
        thread.assignee_unlisted = thread.assignee_id is not None and thread.assignee_id not in {
            member.id for member in thread.assignable
        }
    return threads


def _inbox_context(request: HttpRequest) -> dict[str, Any]:
    show = request.GET.get("show", "open")
    if show not in dict(INBOX_FILTERS):
        show = "open"
    page = Paginator(_inbox_threads(request, show), THREADS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = audited_page(user=request.user, page=page, object_type="message_thread")
    return {
        "threads": _with_assignees(rows),
        "page": page,
        "show": show,
        "filters": [
            {"value": value, "label": label, "current": value == show}
            for value, label in INBOX_FILTERS
        ],
        "now": timezone.now(),
    }


@require_GET
@care_team_page
def inbox(request: HttpRequest) -> HttpResponse:
    # Taken before the rows are read: the live list resumes from here (static/staff/inbox.js).
    feed_seq = latest_seq(user_id=staff_user(request).id)
    return render(
        request, "staff_web/inbox/inbox.html", {**_inbox_context(request), "feed_seq": feed_seq}
    )


@require_GET
@care_team_page
def inbox_list(request: HttpRequest) -> HttpResponse:
    """The inbox's list alone (same filter, page, order, audit), for the page's script to swap
    in when the real-time feed says a thread changed (static/staff/inbox.js)."""
    response = render(request, "staff_web/inbox/_list.html", _inbox_context(request))
    response["Cache-Control"] = "no-store"
    return response


def _row_response(
    request: HttpRequest, thread_id: Any, *, error: str = "", not_done: str = ""
) -> HttpResponse:
    """After an action: the row again for htmx (in place, with the refusal `error` if any), else
    back to where the form was, the refusal then in the page's notices (what was `not_done` and
    why: our own words, never patient data, as notices travel in a cookie)."""
    if request.headers.get("HX-Request") == "true":
        thread = selectors.thread_get(user=staff_user(request), thread_id=thread_id)
        return render(
            request,
            "staff_web/inbox/_row.html",
            {
                "thread": _with_assignees([thread])[0],
                "now": timezone.now(),
                "show": request.POST.get("show", ""),
                "error": error,
            },
        )
    if error:
        messages.error(request, f"{not_done}: {error}" if not_done else error)
    back = request.POST.get("back", "")
    if back == "thread":
        return redirect("staff_web:thread", thread_id=thread_id)
    url = reverse("staff_web:inbox")
    show = request.POST.get("show", "")
    return redirect(f"{url}?show={show}" if show in dict(INBOX_FILTERS) else url)


@require_POST
@care_team_page
def thread_claim(request: HttpRequest, thread_id: Any) -> HttpResponse:
    user = staff_user(request)
    services.thread_assign(actor=user, thread_id=thread_id, assignee_id=user.id)
    return _row_response(request, thread_id)


@require_POST
@care_team_page
def thread_release(request: HttpRequest, thread_id: Any) -> HttpResponse:
    services.thread_assign(actor=staff_user(request), thread_id=thread_id, assignee_id=None)
    return _row_response(request, thread_id)


@require_POST
@care_team_page
def thread_assign(request: HttpRequest, thread_id: Any) -> HttpResponse:
    # The posted id as it came; "Nobody" (or none) is None. The service checks access first
    # (another team's thread is a 404 whatever was posted), then refuses anything but an active
    # teammate's id, a malformed one included: it is never read as "Nobody".
    assignee = request.POST.get("assignee", "") or None
    try:
        services.thread_assign(actor=staff_user(request), thread_id=thread_id, assignee_id=assignee)
    except ApplicationError as error:
        if error.status_code == 404:
            raise
        error.after_rollback()
        refusal = " ".join(error.fields.get("assignee", [])) or error.message
        return _row_response(
            request, thread_id, error=refusal, not_done="The thread was not assigned"
        )
    return _row_response(request, thread_id)


@require_POST
@care_team_page
def thread_close(request: HttpRequest, thread_id: Any) -> HttpResponse:
    services.thread_close(actor=staff_user(request), thread_id=thread_id)
    return _row_response(request, thread_id)


@require_POST
@care_team_page
def thread_reopen(request: HttpRequest, thread_id: Any) -> HttpResponse:
    services.thread_reopen(actor=staff_user(request), thread_id=thread_id)
    return _row_response(request, thread_id)


# --- one thread -----------------------------------------------------------------------------------


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _messages_context(
    request: HttpRequest, thread_id: Any, after: int = 0, latest_only: bool = False
) -> dict[str, Any]:
    listing = selectors.thread_messages(user=staff_user(request), thread_id=thread_id)
    earlier = 0
    if latest_only and not after:
        # Positions count notes too (`message_count`), unlike the patient's public positions.
        earlier = max(0, listing.thread.message_count - LATEST_SHOWN)
        after = earlier
    rows = listing.messages.filter(position__gt=after) if after else listing.messages
    shown = audited_rows(
        user=request.user,
        rows=rows,
        object_type="message",
        patient_id_of=lambda _message: listing.thread.patient_id,
    )
    selectors.load_attachments(shown)
    read_up_to = listing.patient_read.read_public_position if listing.patient_read else 0
    for message in shown:
        message.read_by_patient = (
            not message.internal
            and message.sender_kind != "patient"
            and message.public_position <= read_up_to
        )
    return {"thread": listing.thread, "thread_messages": shown, "earlier": earlier}


def _compose_forms(request: HttpRequest) -> tuple[ComposeForm, ComposeForm]:
    action = request.POST.get("action") if request.method == "POST" else None
    reply = ComposeForm(
        request.POST if action == "reply" else None,
        prefix="reply",
        initial={"client_id": new_client_id()},
    )
    reply.fields["body"].label = "Reply to the patient"
    note = ComposeForm(
        request.POST if action == "note" else None,
        prefix="note",
        initial={"client_id": new_client_id()},
    )
    note.fields["body"].label = "Internal note (the patient never sees it)"
    return reply, note


THREAD_OFFER = EscalationOffer(
    words=OfferWords(
        title="Escalated thread",
        heading="You were called in on an escalated thread",
        called_in="A patient's message in this thread was not answered in time, and the "
        "escalation ladder called you in.",
        noun="thread",
        not_allowed="reply, write a note, claim, assign, close or reopen it",
        to_act="answer the patient",
    ),
    id_name="thread_id",
    page_route="staff_web:thread",
    offer_route="staff_web:thread-break-glass",
    offered=selectors.thread_break_glass_offered,
    open_grant=services.thread_break_glass_open,
)


@require_http_methods(["GET", "POST"])
@care_team_page
def thread_detail(request: HttpRequest, thread_id: Any) -> HttpResponse:
    return THREAD_OFFER.page_or_offer(request, thread_id, _thread_page)


@require_POST
@care_team_page
def thread_break_glass(request: HttpRequest, thread_id: Any) -> HttpResponse:
    """Open break-glass access from the offer (`THREAD_OFFER`), then read the thread."""
    return THREAD_OFFER.open_and_read(request, thread_id)


def _thread_page(request: HttpRequest, thread_id: Any) -> HttpResponse:
    user = staff_user(request)
    reply, note = _compose_forms(request)
    posted = reply if reply.is_bound else note if note.is_bound else None
    if posted is not None and posted.is_valid():
        try:
            result = services.message_send(
                actor=user,
                thread_id=thread_id,
                body=posted.cleaned_data["body"],
                internal=posted is note,
                client_id=posted.cleaned_data["client_id"],
            )
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            form_errors(posted, error)
        else:
            response = redirect("staff_web:thread", thread_id=thread_id)
            response["Location"] += f"#message-{result.message.id}"
            return response
    # Taken before the messages are read: the feed resumes from here (see live-thread.js).
    feed_seq = latest_seq(user_id=user.id)
    context = _messages_context(request, thread_id, latest_only=request.GET.get("all") != "1")
    # Offered as assignees: whom the inbox offers (active clinicians and coordinators).
    thread = _with_assignees([selectors.thread_detail(thread=context["thread"], user=user)])[0]
    services.thread_mark_read(actor=user, thread_id=thread_id)
    patient = patient_with_care_team(patient=thread.patient)
    return render(
        request,
        "staff_web/thread/thread.html",
        {
            **context,
            "thread": thread,
            "patient": patient,
            "age": _age(patient.date_of_birth, timezone.localdate()),
            "care_team": [
                member.user
                for member in patient.care_team.memberships.all()
                if member.user.role in CARE_TEAM_ROLES and member.user.is_active
            ]
            if hasattr(patient, "care_team")
            else [],
            # Shown in the header, so audited as any list of the patient's rows is.
            "red_flags": audited_rows(
                user=user, rows=open_red_flag_reviews(patient=patient), object_type="intake_review"
            ),
            "reply_form": reply,
            "note_form": note,
            "writable": selectors.thread_writable(user=user, thread_id=thread_id),
            "now": timezone.now(),
            "feed_seq": feed_seq,
        },
    )


@require_GET
@care_team_page
def thread_updates(request: HttpRequest, thread_id: Any) -> HttpResponse:
    """The thread's messages after `after` (a position, notes included) as list items, read as
    they are shown; empty when there is nothing new (static/portal/live-thread.js)."""
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    context = _messages_context(request, thread_id, after=after)
    if context["thread_messages"]:
        services.thread_mark_read(actor=staff_user(request), thread_id=thread_id)
    response = render(request, "staff_web/thread/_messages.html", context)
    response["Cache-Control"] = "no-store"
    return response
