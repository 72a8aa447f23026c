"""The patient portal's pages, at the site's root. Paths that notifications link to are the ones
carecore/notifications/links.py names (tests/patient_web/test_links.py holds them together)."""

from django.urls import path

from . import (
    booking_pages,
    careplan_pages,
    message_pages,
    pages,
    progress_pages,
    questionnaire_pages,
    settings_pages,
)

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
    path("book/", booking_pages.book, name="book"),
    path("visits/<uuid:appointment_id>/", booking_pages.visit, name="visit"),
    path(
        "visits/<uuid:appointment_id>/calendar.ics",
        booking_pages.visit_calendar,
        name="visit-calendar",
    ),
    path("visits/<uuid:appointment_id>/cancel/", booking_pages.visit_cancel, name="visit-cancel"),
    path(
        "visits/<uuid:appointment_id>/reschedule/",
        booking_pages.visit_reschedule,
        name="visit-reschedule",
    ),
    path("questionnaires/", questionnaire_pages.questionnaire_list, name="questionnaires"),
    path(
        "questionnaires/responses/<uuid:response_id>/",
        questionnaire_pages.questionnaire_done,
        name="questionnaire-done",
    ),
    path(
        "questionnaires/<slug:slug>/",
        questionnaire_pages.questionnaire_form,
        name="questionnaire",
    ),
    path("care-plan/", careplan_pages.care_plan, name="care-plan"),
    path("progress/", progress_pages.progress, name="progress"),
    path("settings/", settings_pages.settings_page, name="settings"),
]
