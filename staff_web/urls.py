"""The care-team workspace's pages, under /staff/."""

from django.urls import path

from . import pages, review_pages

app_name = "staff_web"

urlpatterns = [
    path("", pages.inbox, name="inbox"),
    path("inbox/", pages.inbox_list, name="inbox-list"),
    path("sign-in/", pages.sign_in, name="sign-in"),
    path("sign-out/", pages.sign_out, name="sign-out"),
    path("threads/<uuid:thread_id>/", pages.thread_detail, name="thread"),
    path("threads/<uuid:thread_id>/updates/", pages.thread_updates, name="thread-updates"),
    path("threads/<uuid:thread_id>/claim/", pages.thread_claim, name="thread-claim"),
    path("threads/<uuid:thread_id>/release/", pages.thread_release, name="thread-release"),
    path("threads/<uuid:thread_id>/assign/", pages.thread_assign, name="thread-assign"),
    path("threads/<uuid:thread_id>/close/", pages.thread_close, name="thread-close"),
    path("threads/<uuid:thread_id>/reopen/", pages.thread_reopen, name="thread-reopen"),
    path("reviews/", review_pages.review_list, name="reviews"),
    path("reviews/<uuid:review_id>/", review_pages.review_detail, name="review"),
]
