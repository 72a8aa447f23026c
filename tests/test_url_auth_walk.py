"""Walk every URL pattern: nothing answers an anonymous caller unless public by design."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Reachable without signing in, on purpose.
PUBLIC = {
    "healthz",
    "readyz",
    "api/schema/",
    "api/docs/",
    "api/v1/auth/register/",
    "api/v1/auth/login/",
    "api/v1/auth/mfa/enroll/code/",
    "api/v1/auth/mfa/enroll/",
    "api/v1/auth/mfa/confirm/",
}

SAMPLE_BY_CONVERTER = {
    "uuid": str(uuid.uuid4()),
    "int": "1",
    "slug": "poem",
    "str": "x",
    "path": "x",
}


def walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def concrete(route: str) -> str:
    parts = []
    for piece in route.split("<"):
        if ">" in piece:
            spec, rest = piece.split(">", 1)
            converter = spec.split(":")[0] if ":" in spec else "str"
            parts.append(SAMPLE_BY_CONVERTER[converter] + rest)
        else:
            parts.append(piece)
    return "/" + "".join(parts)


def is_patient_page(pattern: URLPattern) -> bool:
    return pattern.lookup_str.startswith("patient_web.")


def is_staff_page(pattern: URLPattern) -> bool:
    return pattern.lookup_str.startswith("staff_web.")


def api_routes():
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("admin/") or route.startswith("^") or route in PUBLIC:
            continue
        if is_patient_page(pattern) or is_staff_page(pattern):
            continue  # the portal's and the workspace's pages: walked below
        if route.startswith("fhir/"):
            continue  # FHIR answers in its own error shape: walked below
        yield route


# Regex routes under /fhir/R4/ with a sample value for each group.
FHIR_SAMPLES = [
    ("(?P<type_name>[A-Z][A-Za-z]+)", "Patient"),
    ("(?P<resource_id>[A-Za-z0-9\\-\\.]{1,64})", str(uuid.uuid4())),
    ("\\$", "$"),
]


def fhir_urls():
    """Every FHIR URL pattern, made concrete."""
    for route, _pattern in walk(get_resolver().url_patterns):
        if not route.startswith("fhir/R4/"):
            continue
        if "^" in route:
            route = route.replace("^", "").removesuffix("$")
            for pattern, sample in FHIR_SAMPLES:
                route = route.replace(pattern, sample)
        yield concrete(route)


def test_the_walk_finds_the_api():
    assert "api/v1/me/" in set(api_routes())


@pytest.mark.parametrize("route", sorted(set(api_routes())))
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_non_public_endpoint_requires_authentication(anon, route, method):
    response = getattr(anon, method)(concrete(route))

    assert response.status_code == 401, f"{method.upper()} {route} -> {response.status_code}"
    assert response.json()["error"]["code"] == "not_authenticated"


# The patient portal's pages open to a signed-out visitor, on purpose.
PUBLIC_PAGES = {
    "sign-in/",
    "sign-up/",
    "password-reset/",
    "password-reset/sent/",
    "password-reset/<uidb64>/<token>/",
    "password-reset/done/",
}


def patient_pages():
    for route, pattern in walk(get_resolver().url_patterns):
        if is_patient_page(pattern) and route not in PUBLIC_PAGES and route != "sign-out/":
            yield route


def test_the_walk_finds_the_patient_pages():
    assert "" in set(patient_pages())


@pytest.mark.parametrize("route", sorted(set(patient_pages())))
def test_every_patient_page_sends_a_signed_out_visitor_to_sign_in(route):
    from django.test import Client

    response = Client().get(concrete(route))

    assert response.status_code == 302, f"GET {route} -> {response.status_code}"
    assert response["Location"].startswith("/sign-in/")


def staff_pages():
    for route, pattern in walk(get_resolver().url_patterns):
        if is_staff_page(pattern) and route not in ("staff/sign-in/", "staff/sign-out/"):
            yield route


def test_the_walk_finds_the_staff_pages():
    assert "staff/" in set(staff_pages())


@pytest.mark.parametrize("route", sorted(set(staff_pages())))
def test_every_staff_page_sends_a_signed_out_visitor_to_its_sign_in(route):
    from django.test import Client

    response = Client().get(concrete(route))
    if response.status_code == 405:  # an action: POST only
        response = Client().post(concrete(route))

    assert response.status_code == 302, f"{route} -> {response.status_code}"
    assert response["Location"].startswith("/staff/sign-in/")


def test_the_walk_finds_the_fhir_api():
    urls = set(fhir_urls())
    assert {"/fhir/R4/metadata", "/fhir/R4/Patient", "/fhir/R4/Patient/$export"} <= urls
    assert len(urls) == len(list(fhir_urls())) == 7


@pytest.mark.parametrize("url", sorted(set(fhir_urls())))
def test_every_fhir_endpoint_but_metadata_requires_authentication(anon, url):
    response = anon.get(url)

    if url == "/fhir/R4/metadata":  # the CapabilityStatement is public in FHIR
        assert response.status_code == 200
        return
    assert response.status_code == 401, f"GET {url} -> {response.status_code}"
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("url", sorted(set(fhir_urls())))
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_fhir_refuses_every_write_before_looking_at_credentials(anon, url, method):
    response = getattr(anon, method)(url)

    assert response.status_code == 405, f"{method.upper()} {url} -> {response.status_code}"
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_admin_sends_anonymous_callers_to_its_login(anon):
    response = anon.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_admin_asks_staff_for_a_code_when_mfa_is_required(anon):
    from django.test import override_settings

    with override_settings(CARECORE_REQUIRE_STAFF_MFA=True):
        page = anon.get("/admin/login/")

    assert page.status_code == 200
    assert b"otp_token" in page.content


def test_a_signed_in_admin_without_a_verified_code_is_kept_out(admin_user):
    from django.test import Client, override_settings

    client = Client()
    client.force_login(admin_user)
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])

    with override_settings(CARECORE_REQUIRE_STAFF_MFA=True):
        refused = client.get("/admin/")
    allowed = client.get("/admin/")

    assert refused.status_code == 302
    assert allowed.status_code == 200
