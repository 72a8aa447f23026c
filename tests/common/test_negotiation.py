"""Content negotiation (carecore/common/negotiation.py) answers as DRF's does for every Accept
header and set of renderers, whether its answer was remembered or not."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request

from carecore.common import negotiation
from carecore.common.negotiation import ContentNegotiation
from carecore.common.renderers import OrjsonRenderer
from interop.apis import FhirJsonRenderer
from portal.apis import CalendarRenderer

RENDERER_SETS = {
    "json": [OrjsonRenderer],
    "json, calendar": [OrjsonRenderer, CalendarRenderer],
    "calendar, json": [CalendarRenderer, OrjsonRenderer],
    "fhir": [FhirJsonRenderer],
    "json, fhir": [OrjsonRenderer, FhirJsonRenderer],
}
ACCEPT_HEADERS = {
    "absent": None,
    "anything": "*/*",
    "json": "application/json",
    "json with a parameter": "application/json; indent=4",
    "calendar": "text/calendar",
    "fhir": "application/fhir+json",
    "html only": "text/html",
    "empty": "",
    "weighted": "text/html;q=0.9, application/*;q=0.5, text/calendar;q=0.8",
    "a browser's": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "long": "application/json, " + ", ".join(f"text/x-{number}" for number in range(40)),
}


def answer(negotiation_class, renderer_classes, accept, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/api/v1/threads/{query}", **headers))
    renderers = [renderer_class() for renderer_class in renderer_classes]
    try:
        renderer, media_type = negotiation_class().select_renderer(request, renderers)
    except (NotAcceptable, Http404) as refusal:
        return type(refusal).__name__
    assert renderer in renderers  # one of this request's own renderers
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPT_HEADERS.values(), ids=ACCEPT_HEADERS.keys())
@pytest.mark.parametrize("renderer_classes", RENDERER_SETS.values(), ids=RENDERER_SETS.keys())
def test_it_answers_as_drf_the_first_time_and_once_remembered(renderer_classes, accept) -> None:
    negotiation._CHOICES.clear()
    drfs = answer(DefaultContentNegotiation, renderer_classes, accept)

    assert answer(ContentNegotiation, renderer_classes, accept) == drfs
    assert answer(ContentNegotiation, renderer_classes, accept) == drfs


@pytest.mark.parametrize("query", ["?format=json", "?format=ics", "?format=xml"])
def test_a_format_asked_for_by_name_is_drfs_to_choose(query) -> None:
    renderer_classes = [OrjsonRenderer, CalendarRenderer]
    drfs = answer(DefaultContentNegotiation, renderer_classes, "*/*", query)

    assert answer(ContentNegotiation, renderer_classes, "*/*", query) == drfs


def test_an_empty_format_is_refused() -> None:
    assert answer(ContentNegotiation, [OrjsonRenderer], "*/*", "?format=") == "Http404"


def test_only_short_headers_are_remembered_and_only_so_many() -> None:
    negotiation._CHOICES.clear()
    answer(ContentNegotiation, [OrjsonRenderer], ACCEPT_HEADERS["long"])
    assert not negotiation._CHOICES

    for number in range(negotiation._MOST_CHOICES + 5):
        answer(ContentNegotiation, [OrjsonRenderer], f"application/json; v={number}")
    assert 0 < len(negotiation._CHOICES) <= negotiation._MOST_CHOICES
