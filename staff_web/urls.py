"""The care-team workspace's pages, under /staff/."""

from django.urls import path

from . import break_glass_pages, chart_pages, pages, plan_pages, review_pages, schedule_pages

app_name = "staff_web"

urlpatterns = [
    path("", pages.inbox, name="inbox"),
    path("inbox/", pages.inbox_list, name="inbox-list"),
    path("sign-in/", pages.sign_in, name="sign-in"),
    path("sign-out/", pages.sign_out, name="sign-out"),
    path("threads/<uuid:thread_id>/", pages.thread_detail, name="thread"),
    path(
        "threads/<uuid:thread_id>/break-glass/",
        pages.thread_break_glass,
        name="thread-break-glass",
    ),
    path("threads/<uuid:thread_id>/updates/", pages.thread_updates, name="thread-updates"),
    path("threads/<uuid:thread_id>/claim/", pages.thread_claim, name="thread-claim"),
    path("threads/<uuid:thread_id>/release/", pages.thread_release, name="thread-release"),
    path("threads/<uuid:thread_id>/assign/", pages.thread_assign, name="thread-assign"),
    path("threads/<uuid:thread_id>/close/", pages.thread_close, name="thread-close"),
    path("threads/<uuid:thread_id>/reopen/", pages.thread_reopen, name="thread-reopen"),
    path("reviews/", review_pages.review_list, name="reviews"),
    path("reviews/<uuid:review_id>/", review_pages.review_detail, name="review"),
    path(
        "reviews/<uuid:review_id>/break-glass/",
        review_pages.review_break_glass,
        name="review-break-glass",
    ),
    # The care-plan editor (plan_pages.py)
    path("patients/<uuid:patient_id>/care-plan/", plan_pages.care_plan, name="care_plan"),
    path(
        "patients/<uuid:patient_id>/care-plan/compare/",
        plan_pages.care_plan_compare,
        name="care_plan_compare",
    ),
    path("care-plans/<uuid:plan_id>/", plan_pages.care_plan_version, name="care_plan_version"),
    path("care-plans/<uuid:plan_id>/edit/", plan_pages.care_plan_edit, name="care_plan_edit"),
    path(
        "care-plans/<uuid:plan_id>/discard/",
        plan_pages.care_plan_discard,
        name="care_plan_discard",
    ),
    # The schedule, one visit and its pre-visit summary (schedule_pages.py).
    path("schedule/", schedule_pages.schedule, name="schedule"),
    path("schedule/book/", schedule_pages.book, name="schedule-book"),
    path(
        "schedule/clinicians/<uuid:clinician_id>/availability/",
        schedule_pages.availability,
        name="schedule-availability",
    ),
    path(
        "schedule/clinicians/<uuid:clinician_id>/hours/<uuid:rule_id>/delete/",
        schedule_pages.rule_delete,
        name="schedule-rule-delete",
    ),
    path(
        "schedule/clinicians/<uuid:clinician_id>/time-off/<uuid:time_off_id>/delete/",
        schedule_pages.time_off_delete,
        name="schedule-time-off-delete",
    ),
    path(
        "schedule/visits/<uuid:appointment_id>/reschedule/",
        schedule_pages.reschedule,
        name="schedule-reschedule",
    ),
    path(
        "schedule/visits/<uuid:appointment_id>/cancel/",
        schedule_pages.cancel,
        name="schedule-cancel",
    ),
    path("visits/<uuid:appointment_id>/", schedule_pages.visit, name="visit"),
    path(
        "visits/<uuid:appointment_id>/summary/",
        schedule_pages.visit_summary,
        name="visit_summary",
    ),
    path("patients/<uuid:patient_id>/", chart_pages.patient_chart, name="patient"),
    # A break-glass grant, for the patient's care team (break_glass_pages.py).
    path(
        "break-glass/<uuid:grant_id>/",
        break_glass_pages.break_glass_grant,
        name="break_glass_grant",
    ),
]
