"""The product's URLs plus the bench-only baseline endpoint (bench/bare_insert.py)."""

from django.urls import path

from carecore.urls import handler400, handler403, handler404, handler500, urlpatterns

from .bare_insert import BareInsertApi

urlpatterns = [
    path("api/v1/bench/bare-insert/", BareInsertApi.as_view(), name="bench-bare"),
    *urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
