"""Workspace pages that once had a path outside /staff/: links already sent keep working."""

from django.urls import path

from . import break_glass_pages, review_pages, schedule_pages

urlpatterns = [
    path(
        "visits/<uuid:appointment_id>/summary/",
        schedule_pages.visit_summary_moved,
        name="previsit-summary-moved",
    ),
    path(
        "reviews/<uuid:review_id>/",
        review_pages.review_moved,
        name="review-moved",
    ),
    path(
        "break-glass/<uuid:grant_id>/",
        break_glass_pages.break_glass_grant_moved,
        name="break-glass-moved",
    ),
]
