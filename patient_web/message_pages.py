"""Secure messages: the thread list, a new thread, a thread with its reply form, and the
fragment of new messages the thread page's script (static/portal/live-thread.js) asks for when
the event feed says something arrived. Thin: messaging's services and selectors do the rest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from carecore.audit.lists import audited_page, audited_rows
from carecore.common.errors import ApplicationError
from carecore.realtime.selectors import latest_seq
from messaging import policy, selectors, services

from .forms import NewThreadForm, ReplyForm, new_client_id
from .guards import form_errors, patient_page, signed_in

THREADS_PER_PAGE = 25
# A thread opens on its latest messages; "Show earlier messages" shows (and audits) the rest.
LATEST_SHOWN = 50
# A triage reply stays on top of its thread, in an alert box, for this long after it was sent.
TRIAGE_BANNER_HOURS = 24


def _uploads(request: HttpRequest) -> list[UploadedFile]:
    return [*request.FILES.getlist("camera"), *request.FILES.getlist("photos")]


Sent = TypeVar("Sent")


def _send_with_photos(
    request: HttpRequest, form: Any, send: Callable[[list[UUID]], Sent]
) -> Sent | None:
    """Store each photo through messaging's upload service (type sniffed, metadata stripped),
    then `send` them with their ids; None when a photo or the send is refused (the error is put
    on the form). Photos the send did not take (a refusal, a replayed earlier send, an error)
    are deleted before the page answers: nothing is left stored unsent."""
    user = signed_in(request)
    with services.attachments_for_one_send(actor=user) as stored:
        for upload in _uploads(request):
            try:
                stored.append(services.attachment_upload(actor=user, upload=upload).id)
            except ApplicationError as error:
                error.after_rollback()
                messages = [str(each) for each in error.fields.get("file", [error.message])]
                form.add_error(None, f"{upload.name}: {' '.join(messages)}")
                return None
        try:
            return send(stored)
        except ApplicationError as error:
            if error.status_code == 404:
                raise  # the guard's 404 page
            error.after_rollback()
            form_errors(form, error)
            return None


@require_GET
@patient_page
def thread_list(request: HttpRequest) -> HttpResponse:
    threads = selectors.thread_list(user=signed_in(request)).order_by("-last_message_at", "-id")
    page = Paginator(threads, THREADS_PER_PAGE).get_page(request.GET.get("page"))
    shown = audited_page(user=request.user, page=page, object_type="message_thread")
    selectors.prefetch_previews(shown)
    return render(request, "patient_web/messages/list.html", {"threads": shown, "page": page})


@require_http_methods(["GET", "POST"])
@patient_page
def thread_new(request: HttpRequest) -> HttpResponse:
    form = NewThreadForm(request.POST or None, initial={"client_id": new_client_id()})
    if request.method == "POST" and form.is_valid():
        fields = form.cleaned_data
        result = _send_with_photos(
            request,
            form,
            lambda attachment_ids: services.thread_open(
                actor=signed_in(request),
                subject=fields["subject"],
                category=fields["category"],
                body=fields["body"],
                client_id=fields["client_id"],
                attachment_ids=attachment_ids,
            ),
        )
        if result is not None:
            return redirect("patient_web:thread", thread_id=result.thread.id)
    return render(request, "patient_web/messages/new.html", {"form": form})


def _messages_context(
    request: HttpRequest, thread_id: Any, after: int = 0, latest_only: bool = False
) -> dict[str, Any]:
    listing = selectors.thread_messages(user=signed_in(request), thread_id=thread_id)
    earlier = 0
    if latest_only and not after:
        earlier = max(0, listing.thread.public_message_count - LATEST_SHOWN)
        after = earlier
    rows = listing.messages.filter(public_position__gt=after) if after else listing.messages
    shown = audited_rows(
        user=request.user,
        rows=rows,
        object_type="message",
        patient_id_of=lambda _message: listing.thread.patient_id,
    )
    selectors.load_attachments(shown)
    seen_up_to = selectors.care_team_read_public_position(thread=listing.thread)
    for message in shown:
        message.triage_severity = (
            policy.triage_reply_severity(message.body) if message.sender_kind == "system" else None
        )
        message.seen_by_care_team = (
            message.sender_kind == "patient" and message.public_position <= seen_up_to
        )
    return {"thread": listing.thread, "thread_messages": shown, "earlier": earlier}


@require_http_methods(["GET", "POST"])
@patient_page
def thread_detail(request: HttpRequest, thread_id: Any) -> HttpResponse:
    form = ReplyForm(request.POST or None, initial={"client_id": new_client_id()})
    if request.method == "POST" and form.is_valid():
        if _uploads(request):
            # Someone else's thread (or none) is the 404 page before any photo is stored.
            services.thread_check_writable(actor=signed_in(request), thread_id=thread_id)
        fields = form.cleaned_data
        sent = _send_with_photos(
            request,
            form,
            lambda attachment_ids: services.message_send(
                actor=signed_in(request),
                thread_id=thread_id,
                body=fields["body"],
                client_id=fields["client_id"],
                attachment_ids=attachment_ids,
            ),
        )
        if sent is not None:
            response = redirect("patient_web:thread", thread_id=thread_id)
            response["Location"] += f"#message-{sent.message.id}"
            return response
    # Taken before the messages are read: the script resumes the feed from here, so whatever
    # is sent after this point reaches the page (docs/web-portal.md, "Live updates").
    feed_seq = latest_seq(user_id=signed_in(request).id)
    context = _messages_context(request, thread_id, latest_only=request.GET.get("all") != "1")
    services.thread_mark_read(actor=signed_in(request), thread_id=thread_id)
    recent = timezone.now() - timedelta(hours=TRIAGE_BANNER_HOURS)
    alerts = [
        message
        for message in context["thread_messages"]
        if message.triage_severity is not None and message.created_at >= recent
    ]
    return render(
        request,
        "patient_web/messages/thread.html",
        {**context, "form": form, "alert": alerts[-1] if alerts else None, "feed_seq": feed_seq},
    )


@require_GET
@patient_page
def thread_updates(request: HttpRequest, thread_id: Any) -> HttpResponse:
    """The thread's messages after `after` (a public position) as list items, read as they are
    shown; empty when there is nothing new."""
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    context = _messages_context(request, thread_id, after=after)
    if context["thread_messages"]:
        services.thread_mark_read(actor=signed_in(request), thread_id=thread_id)
    response = render(request, "patient_web/messages/_messages.html", context)
    response["Cache-Control"] = "no-store"
    return response
