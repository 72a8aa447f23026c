from django.urls import path

from . import apis

urlpatterns = [
    path("auth/register/", apis.RegisterApi.as_view(), name="auth-register"),
    path("auth/login/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/password/", apis.PasswordChangeApi.as_view(), name="auth-password"),
    path("auth/mfa/enroll/code/", apis.MfaEnrollCodeApi.as_view(), name="auth-mfa-enroll-code"),
    path("auth/mfa/enroll/", apis.MfaEnrollApi.as_view(), name="auth-mfa-enroll"),
    path("auth/mfa/confirm/", apis.MfaConfirmApi.as_view(), name="auth-mfa-confirm"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/phone/confirm/", apis.MePhoneConfirmApi.as_view(), name="me-phone-confirm"),
    path("clinicians/", apis.ClinicianListApi.as_view(), name="clinician-list"),
    path("patients/", apis.PatientListApi.as_view(), name="patient-list"),
    path("patients/<uuid:patient_id>/", apis.PatientDetailApi.as_view(), name="patient-detail"),
    path(
        "patients/<uuid:patient_id>/care-team/",
        apis.CareTeamUpdateApi.as_view(),
        name="patient-care-team",
    ),
    path(
        "patients/<uuid:patient_id>/break-glass/",
        apis.BreakGlassApi.as_view(),
        name="patient-break-glass",
    ),
]
