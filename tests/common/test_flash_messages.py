"""The messages middleware (carecore/common/flash_messages.py) stores, shows and clears one-time
notices as Django's does, and makes no storage for a request that uses none."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from carecore.common.flash_messages import LazyMessageMiddleware

pytestmark = pytest.mark.django_db


def nothing(request):
    return []


def add_one(request):
    messages.success(request, "Plan published.")
    return []


def read_all(request):
    return [str(message) for message in messages.get_messages(request)]


def read_and_add(request):
    shown = read_all(request)
    messages.info(request, "Another one.")
    return shown


def only_ask_whether_any(request):
    return [bool(messages.get_messages(request))]


VIEWS = [nothing, add_one, read_all, read_and_add, only_ask_whether_any]


def serve(middleware_class, view, *, cookie=None):
    """One request through the session and messages middleware: what the view saw, and the
    messages cookie the answer sets (None: left as it was)."""
    request = RequestFactory().get("/staff/")
    if cookie is not None:
        request.COOKIES["messages"] = cookie
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    middleware = middleware_class(lambda request: HttpResponse())
    middleware.process_request(request)
    seen = view(request)
    response = middleware.process_response(request, HttpResponse())
    stored = response.cookies.get("messages")
    return seen, None if stored is None else (stored.value, stored["max-age"]), request


def a_cookie_with_a_message():
    _seen, (value, _age), _request = serve(MessageMiddleware, add_one)
    return value


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.__name__)
@pytest.mark.parametrize("with_earlier_message", [False, True], ids=["no notice", "a notice"])
def test_each_request_sees_and_stores_what_djangos_would(view, with_earlier_message) -> None:
    cookie = a_cookie_with_a_message() if with_earlier_message else None

    ours = serve(LazyMessageMiddleware, view, cookie=cookie)[:2]
    djangos = serve(MessageMiddleware, view, cookie=cookie)[:2]

    assert ours == djangos


def test_a_request_that_uses_no_messages_makes_no_storage() -> None:
    _seen, stored, request = serve(LazyMessageMiddleware, nothing, cookie=a_cookie_with_a_message())

    assert stored is None  # the earlier notice stays for the request that shows it
    assert request._messages._wrapped is empty


def test_a_notice_added_before_a_redirect_is_shown_once() -> None:
    # The staff pages' flow (a plan published, then the plan's page): shown once, then gone.
    cookie = a_cookie_with_a_message()
    seen, stored, _request = serve(LazyMessageMiddleware, read_all, cookie=cookie)
    assert seen == ["Plan published."]
    assert stored is not None and stored[0] == ""  # the cookie is cleared

    assert serve(LazyMessageMiddleware, read_all)[0] == []
