from django.urls import path

from . import apis

urlpatterns = [
    path(
        "clinicians/<uuid:clinician_id>/availability/",
        apis.ClinicianAvailabilityApi.as_view(),
        name="clinician-availability",
    ),
    path(
        "clinicians/<uuid:clinician_id>/availability/rules/<uuid:rule_id>/",
        apis.AvailabilityRuleDetailApi.as_view(),
        name="clinician-availability-rule",
    ),
    path(
        "clinicians/<uuid:clinician_id>/availability/time-off/<uuid:time_off_id>/",
        apis.TimeOffDetailApi.as_view(),
        name="clinician-time-off",
    ),
    path("slots/", apis.SlotListApi.as_view(), name="slot-list"),
    path("slots/earliest/", apis.EarliestSlotApi.as_view(), name="slot-earliest"),
    path("appointments/", apis.AppointmentListApi.as_view(), name="appointment-list"),
    path(
        "appointments/<uuid:appointment_id>/",
        apis.AppointmentDetailApi.as_view(),
        name="appointment-detail",
    ),
    path(
        "appointments/<uuid:appointment_id>/cancel/",
        apis.AppointmentCancelApi.as_view(),
        name="appointment-cancel",
    ),
    path(
        "appointments/<uuid:appointment_id>/reschedule/",
        apis.AppointmentRescheduleApi.as_view(),
        name="appointment-reschedule",
    ),
    path(
        "appointments/<uuid:appointment_id>/ics/",
        apis.AppointmentIcsApi.as_view(),
        name="appointment-ics",
    ),
]
