"""The web processes' WSGI handler (carecore/common/wsgi_handler.py): once an answer is closed,
its request's objects are freed by reference counting, none left for the cyclic garbage
collector; and only then, after the last byte and after Django's own closing."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request

from carecore.accounts import services as accounts
from carecore.accounts.models import Clinician, Patient
from carecore.common.wsgi_handler import ReleasingWSGIHandler
from tests.messaging.conftest import open_thread
from tests.patient_web.conftest import sign_in

# --- a view that streams and one that takes a file, on top of the product's URLs -------------

seen: list[Any] = []  # what the views below were given: their requests, the uploaded file


def streamed_view(request: HttpRequest) -> StreamingHttpResponse:
    seen.append(request)

    def body() -> Iterator[bytes]:
        yield b"first "
        # Read from the request after the first piece went out: released early, it is empty.
        yield request.path.encode()

    return StreamingHttpResponse(body())


@csrf_exempt
def upload_view(request: HttpRequest) -> HttpResponse:
    seen.append(request.FILES["file"])
    return HttpResponse("taken")


urlpatterns = [
    path("test-streamed/", streamed_view),
    path("test-upload/", upload_view),
    path("", include("carecore.urls")),
]


HANDLERS: dict[type[WSGIHandler], WSGIHandler] = {}


def serve(
    request: WSGIRequest, handler_class: type[WSGIHandler] = ReleasingWSGIHandler
) -> tuple[int, bytes]:
    """One request through a handler as the web server calls it: the answer's pieces read,
    then the answer closed. One handler of each class for all requests, as in a web process
    (its middleware chain is made once, and holds loops of its own). Django's signal receivers
    that close the database connection are off meanwhile (as in Django's test client): the
    test's transaction holds the data."""
    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda chunk: None

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        if handler_class not in HANDLERS:
            HANDLERS[handler_class] = handler_class()
        handler = HANDLERS[handler_class]
        answer = handler(request.environ, start_response)
        try:
            body = b"".join(answer)
        finally:
            answer.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(statuses[0].split()[0]), body


def left_for_the_collector(run: Callable[[], object]) -> list[str]:
    """The names of the types of what `run` left that only the cyclic collector frees."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return [type(found).__qualname__ for found in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


REQUEST_GRAPH = {WSGIRequest.__qualname__, Request.__qualname__, "Response", "ThreadListApi"}


def test_an_api_answer_leaves_its_request_to_reference_counting(
    db, clinician: Clinician, patient: Patient
) -> None:
    open_thread(patient, subject="Rash")
    token = accounts.token_issue(user=clinician.user)
    inbox = RequestFactory().get(
        "/api/v1/threads/?page_size=50", headers={"authorization": f"Bearer {token}"}
    )
    results: list[tuple[int, bytes]] = []

    def released() -> None:
        results.append(serve(inbox))

    def with_djangos_handler() -> None:
        results.append(serve(inbox, WSGIHandler))

    left = set(left_for_the_collector(released))
    assert REQUEST_GRAPH & left == set()
    assert "FilterSerializer" not in left  # validated, it let go of its fields
    # Without the release the same request is left to the collector: the test sees the loops.
    assert REQUEST_GRAPH.issubset(left_for_the_collector(with_djangos_handler))
    status, body = results[0]
    assert status == 200 and b"Rash" in body
    assert results[0] == results[1]


def test_a_page_leaves_nothing_hung_on_its_request(db, clinician: Clinician) -> None:
    """A page's request loops through its lazy user and the stand-in for its messages storage
    (made only if the page uses it, carecore/common/flash_messages.py; this one does not); what
    hangs on it (the session, the stand-in) is freed once it is released. (Django's template
    context is a loop of its own, holding the emptied request: see the module under test.)"""
    browser = Client()
    sign_in(browser, clinician.user)
    page = RequestFactory().get(
        "/staff/", headers={"cookie": browser.cookies.output(header="", sep=";")}
    )
    hung_on_the_request = {"MessageStorageOnFirstUse", "SessionStore"}
    results: list[tuple[int, bytes]] = []

    released = left_for_the_collector(lambda: results.append(serve(page)))
    unreleased = left_for_the_collector(lambda: results.append(serve(page, WSGIHandler)))

    assert hung_on_the_request & set(released) == set()
    assert hung_on_the_request.issubset(unreleased)
    status, body = results[0]
    assert status == 200 and b"Inbox" in body


@pytest.mark.urls(__name__)
def test_a_not_found_answer_releases_its_request(db) -> None:
    missing = RequestFactory().get("/api/v1/no-such-thing/")
    results: list[tuple[int, bytes]] = []

    garbage = left_for_the_collector(lambda: results.append(serve(missing)))

    assert REQUEST_GRAPH & set(garbage) == set()
    assert results[0][0] == 404


@pytest.mark.urls(__name__)
def test_a_streamed_answer_is_released_after_its_last_piece(db) -> None:
    seen.clear()

    status, body = serve(RequestFactory().get("/test-streamed/"))

    assert (status, body) == (200, b"first /test-streamed/")
    assert vars(seen[0]) == {}  # released once closed


@pytest.mark.urls(__name__)
def test_uploaded_files_are_still_closed_by_django(db) -> None:
    seen.clear()
    upload = RequestFactory().post(
        "/test-upload/", {"file": SimpleUploadedFile("note.txt", b"x" * 10)}
    )

    status, body = serve(upload)

    assert (status, body) == (200, b"taken")
    assert seen[0].closed
