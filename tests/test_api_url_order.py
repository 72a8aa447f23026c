"""The API's apps are mounted side by side under /api/v1/ (carecore/urls.py), messaging first
because its paths are the hot ones. That order is free only while no two apps declare the same
route: then whichever app is first, every path resolves to the same view."""

from __future__ import annotations

from collections import Counter

from django.urls import URLPattern, URLResolver, get_resolver


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLPattern):
            routes.append(route)
        else:
            routes.extend(_routes(entry, route))
    return routes


def _api_v1() -> URLResolver:
    [api] = [
        entry
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and str(entry.pattern) == "api/v1/"
    ]
    return api


def _apps() -> list[URLResolver]:
    apps = _api_v1().url_patterns
    assert all(isinstance(app, URLResolver) for app in apps)  # each an include()
    return [app for app in apps if isinstance(app, URLResolver)]


def test_no_two_api_apps_declare_the_same_route():
    routes_by_app = [set(_routes(app)) for app in _apps()]
    declared = Counter(route for routes in routes_by_app for route in routes)

    assert [route for route, apps in declared.items() if apps > 1] == []


def test_messaging_is_tried_first():
    first = _apps()[0]

    assert getattr(first.urlconf_module, "__name__", None) == "messaging.urls"
