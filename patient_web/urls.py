"""The patient portal's pages, at the site's root. Paths that notifications link to are the ones
carecore/notifications/links.py names (tests/patient_web/test_links.py holds them together)."""

from django.urls import path

from . import message_pages, pages

app_name = "patient_web"

urlpatterns = [
    path("", pages.home, name="home"),
    path("sign-in/", pages.sign_in, name="sign-in"),
    path("sign-up/", pages.sign_up, name="sign-up"),
    path("sign-out/", pages.sign_out, name="sign-out"),
    path("password-reset/", pages.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", pages.PasswordResetSentView.as_view(), name="password-reset-sent"),
    path(
        "password-reset/<uidb64>/<token>/",
        pages.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        pages.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("messages/", message_pages.thread_list, name="messages"),
    path("messages/new/", message_pages.thread_new, name="thread-new"),
    path("messages/<uuid:thread_id>/", message_pages.thread_detail, name="thread"),
    path(
        "messages/<uuid:thread_id>/updates/",
        message_pages.thread_updates,
        name="thread-updates",
    ),
]
