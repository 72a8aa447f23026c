"""The Content-Security-Policy headers: django-csp's, each built once while only the settings
shape it (docs/security.md, "Content-Security-Policy").

django-csp builds its headers afresh for every response: the settings' directives copied, merged
with the view's changes, the nonce put in, joined into text; about 70 microseconds, 1.5 % of a
care team's inbox request (docs/benchmarks.md). Most responses have no part in their policy: the
API's answers, and any page whose template asked for no nonce, get exactly the header the
settings make. For those the text is built once per process and kept until a CSP setting
changes (tests' `override_settings`); a response that does shape its policy (a nonce used, a
`csp.decorators` view) goes through django-csp as it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What django-csp reads from a response to shape its policy (`CSPMiddleware.get_policy_parts`).
_RESPONSE_PARTS = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_SETTINGS = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
# With DEBUG on, django-csp leaves Django's debug pages without a policy (their inline scripts).
_DEBUG_PAGE_STATUSES = (HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.NOT_FOUND)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the headers of a response only the settings shape built
    once (module docstring). The same headers as django-csp's in every case
    (tests/common/test_content_security_policy.py)."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if _shaped_by_the_response(request, response):
            return super().process_response(request, response)
        if response.status_code in _DEBUG_PAGE_STATUSES and settings.DEBUG:
            return response
        for policy in _policies_from_settings():
            if policy.applies_to(request, response):
                response[policy.header] = policy.text
        # As django-csp does: a nonce asked for after the header is written could not be in it.
        request.csp_nonce = CheckableLazyObject(  # type: ignore[attr-defined]
            self._csp_nonce_post_response
        )
        return response


def _shaped_by_the_response(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Whether the request used a nonce or the view changed the policy."""
    if getattr(request, "_csp_nonce", None) is not None:
        return True
    return any(getattr(response, part, None) is not None for part in _RESPONSE_PARTS)


@dataclass(frozen=True)
class _Policy:
    """One header as the settings alone make it, and where django-csp leaves it off."""

    header: str
    text: str
    exempt_attribute: str  # set by csp.decorators.csp_exempt
    excluded_prefixes: tuple[str, ...]

    def applies_to(self, request: HttpRequest, response: HttpResponseBase) -> bool:
        return (
            bool(self.text)
            and self.header not in response
            and getattr(response, self.exempt_attribute, False) is False
            and not request.path_info.startswith(self.excluded_prefixes)
        )


@functools.cache
def _policies_from_settings() -> tuple[_Policy, _Policy]:
    return (
        _Policy(HEADER, build_policy(), "_csp_exempt", _excluded_prefixes(_SETTINGS[0])),
        _Policy(
            HEADER_REPORT_ONLY,
            build_policy(report_only=True),
            "_csp_exempt_ro",
            _excluded_prefixes(_SETTINGS[1]),
        ),
    )


def _excluded_prefixes(setting: str) -> tuple[str, ...]:
    policy = getattr(settings, setting, None) or {}
    return tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


@receiver(setting_changed)
def _forget_policies(*, setting: str, **_: Any) -> None:
    if setting in _SETTINGS:
        _policies_from_settings.cache_clear()
