"""Every response carries the strict Content-Security-Policy; no page may be framed."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from carecore.common.content_security_policy import (
    ContentSecurityPolicyMiddleware,
    _policies_from_settings,
)

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_it_sends_a_strict_policy_with_a_fresh_nonce_on_the_docs_page(client: Client) -> None:
    first = directives(client.get("/api/docs/").headers["Content-Security-Policy"])
    second = directives(client.get("/api/docs/").headers["Content-Security-Policy"])

    assert first["default-src"] == ["'none'"]
    assert first["script-src"][0] == "'self'"
    assert first["script-src"][1].startswith("'nonce-")
    assert first["script-src"][1] != second["script-src"][1]
    assert "'unsafe-inline'" not in first["script-src"] + first["style-src"]
    assert "'unsafe-eval'" not in first["script-src"]
    assert first["frame-ancestors"] == ["'none'"]
    assert first["object-src"] == ["'none'"]


def test_it_sends_the_policy_on_api_responses_too(client: Client) -> None:
    response = client.get("/api/v1/me/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# --- our middleware against django-csp's (carecore/common/content_security_policy.py) ----------
# The headers a response gets must be django-csp's in every case: a response only the settings
# shape takes the text built once, any other goes through django-csp itself.

RESPONSE_SHAPES = {
    "plain": {},
    "update": {"_csp_update": {"img-src": ["https://images.example"]}},
    "replace": {"_csp_replace": {"img-src": ["https://images.example"]}},
    "config": {"_csp_config": {"default-src": ["'self'"]}},
    "update, report only": {"_csp_update_ro": {"img-src": ["https://images.example"]}},
    "exempt": {"_csp_exempt": True},
    "exempt, report only": {"_csp_exempt_ro": True},
}
STATUSES = [200, 404, 500]
REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-reports/"}}


def headers_from(middleware_class, *, path, status, shape, nonce, header_set_by_view):
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: HttpResponse())
    middleware.process_request(request)
    if nonce:
        # As a template's {{ request.csp_nonce }} leaves it.
        request._csp_nonce = "a-fixed-nonce"  # type: ignore[attr-defined]
    response = HttpResponse(status=status)
    for name, value in shape.items():
        setattr(response, name, value)
    if header_set_by_view:
        response["Content-Security-Policy"] = "default-src 'self'"
    middleware.process_response(request, response)
    return {
        **{name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)},
        "a nonce asked for afterwards": _nonce_afterwards(request),
    }


def _nonce_afterwards(request) -> str:
    """Once the header is written, asking for a nonce is an error (it could not be in it)."""
    try:
        nonce = str(request.csp_nonce)
    except CSPNonceError:
        return "refused"
    return "the one used" if nonce == "a-fixed-nonce" else "a new one"


@pytest.mark.parametrize("shape", RESPONSE_SHAPES.values(), ids=RESPONSE_SHAPES.keys())
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("nonce", [False, True], ids=["no nonce", "nonce used"])
@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
@pytest.mark.parametrize(
    "report_only", [None, REPORT_ONLY], ids=["no report-only policy", "report-only policy"]
)
@pytest.mark.parametrize("header_set_by_view", [False, True], ids=["", "view's own header"])
def test_each_response_gets_django_csps_headers(
    shape, status, nonce, debug, report_only, header_set_by_view
) -> None:
    with override_settings(DEBUG=debug, CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        arguments = {
            "path": "/api/v1/threads/",
            "status": status,
            "shape": shape,
            "nonce": nonce,
            "header_set_by_view": header_set_by_view,
        }
        ours = headers_from(ContentSecurityPolicyMiddleware, **arguments)
        theirs = headers_from(CSPMiddleware, **arguments)

    assert ours == theirs


def test_the_text_built_once_follows_the_settings_when_they_change() -> None:
    def ours_and_theirs(path="/api/v1/threads/"):
        arguments = {
            "path": path,
            "status": 200,
            "shape": {},
            "nonce": False,
            "header_set_by_view": False,
        }
        return (
            headers_from(ContentSecurityPolicyMiddleware, **arguments),
            headers_from(CSPMiddleware, **arguments),
        )

    before, _ = ours_and_theirs()
    changed = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["https://images.example"]}}
    excluded = {**REPORT_ONLY, "EXCLUDE_URL_PREFIXES": ["/api/"]}
    with override_settings(CONTENT_SECURITY_POLICY=changed):
        ours, theirs = ours_and_theirs()
        assert ours == theirs
        assert ours[HEADER] != before[HEADER]
        assert "img-src https://images.example" in ours[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=excluded):
        assert ours_and_theirs() == ours_and_theirs()
        ours, theirs = ours_and_theirs()
        assert ours == theirs and ours[HEADER_REPORT_ONLY] is None
        ours, theirs = ours_and_theirs(path="/portal/")
        assert ours == theirs and ours[HEADER_REPORT_ONLY] is not None
    assert ours_and_theirs()[0] == before
    assert before["a nonce asked for afterwards"] == "refused"


def test_it_is_the_middleware_every_response_goes_through() -> None:
    assert "carecore.common.content_security_policy.ContentSecurityPolicyMiddleware" in (
        settings.MIDDLEWARE
    )
    assert "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE


def test_an_api_answer_takes_the_text_built_once(client: Client) -> None:
    client.get("/api/v1/me/")
    hits = _policies_from_settings.cache_info().hits

    response = client.get("/api/v1/me/")

    assert _policies_from_settings.cache_info().hits == hits + 1
    assert response.headers["Content-Security-Policy"] == _policies_from_settings()[0].text
