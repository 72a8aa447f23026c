"""HTTP for accounts: sign-up, login, logout, password, MFA enrolment, /me, clinicians, patients.

Views parse, check access, call a service or selector, and serialise. Nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers, status
from rest_framework.fields import SkipField
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.audit.lists import audited_list_response
from carecore.common.fields import AllErrorsSerializer, ChoiceField, StrictInput, TimeZoneField
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role
from carecore.common.throttling import AuthRateThrottle

from . import services
from .models import ALL_ROLES, CareTeam, CareTeamMember, Role, User
from .requests import AuthenticatedRequest
from .selectors import clinician_list, me_get, patient_get, patient_list, patient_with_care_team
from .throttles import SignUpAddressThrottle, SignUpRateThrottle
from .us_states import US_STATE_CHOICES

# --- shared output shapes ----------------------------------------------------------------------


class _OmitNone(serializers.Serializer):
    """Leaves out the `omit_when_none` fields whose value is None (keys shown only when they
    apply, e.g. `patient_id` for patients)."""

    omit_when_none: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        for name in self.omit_when_none:
            if data.get(name) is None:
                data.pop(name, None)
        return data


def _clinician_of(user: User) -> Any:
    return getattr(user, "clinician", None) if user.role == Role.CLINICIAN else None


def _patient_of(user: User) -> Any:
    return getattr(user, "patient", None) if user.role == Role.PATIENT else None


class PersonOutput(serializers.Serializer):
    """A care-team person. `id` is the clinician id for clinicians (the FHIR Practitioner id)
    and the user id for everyone else; `user_id` is always the user id (to assign threads)."""

    id = serializers.SerializerMethodField()
    user_id = serializers.UUIDField(source="id")
    name = serializers.CharField(source="full_name")
    role = serializers.CharField()

    @extend_schema_field(serializers.UUIDField())
    def get_id(self, user: User) -> str:
        clinician = _clinician_of(user)
        return str(clinician.id if clinician else user.id)


class CareTeamOutput(serializers.Serializer):
    """Expects memberships prefetched (see selectors) so a list costs no extra queries."""

    id = serializers.UUIDField()
    lead = PersonOutput(source="lead.user", allow_null=True)
    members = serializers.SerializerMethodField()

    @extend_schema_field(PersonOutput(many=True))
    def get_members(self, care_team: CareTeam) -> Any:
        lead_user_id = care_team.lead.user_id if care_team.lead else None
        memberships: list[CareTeamMember] = list(care_team.memberships.all())
        others = [member.user for member in memberships if member.user_id != lead_user_id]
        return PersonOutput(others, many=True).data


class PatientOutput(serializers.Serializer):
    id = serializers.UUIDField()
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    email = serializers.EmailField(source="user.email")
    phone = serializers.CharField(source="user.phone")
    timezone = serializers.CharField(source="user.timezone")
    date_of_birth = serializers.DateField()
    state = serializers.CharField()
    care_team = CareTeamOutput(allow_null=True)


@extend_schema_field(OpenApiTypes.UUID)
class _ProfileIdField(serializers.Field):
    """The id of the user's patient or clinician profile; the key is left out for other roles.

    Not a SerializerMethodField: the schema marks every read-only field required, and these
    keys are present for one role only (schemathesis checks the responses against it).
    """

    def __init__(self, profile_of: Callable[[User], Any], **kwargs: Any) -> None:
        super().__init__(source="*", required=False, **kwargs)
        self.profile_of = profile_of

    def get_attribute(self, instance: User) -> Any:
        profile = self.profile_of(instance)
        if profile is None:
            raise SkipField()
        return profile

    def to_representation(self, value: Any) -> str:
        return str(value.id)


class UserOutput(_OmitNone):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField()
    timezone = serializers.CharField()
    phone = serializers.SerializerMethodField(
        help_text="Confirmed number SMS go to; empty for none."
    )
    preferred_name = serializers.CharField()
    patient_id = _ProfileIdField(_patient_of, help_text="Patients only.")
    clinician_id = _ProfileIdField(_clinician_of, help_text="Clinicians only.")

    def get_phone(self, user: User) -> str:
        return str(user.phone) if user.phone else ""


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    user = UserOutput()


# --- authentication -----------------------------------------------------------------------------


class RegisterApi(APIView):
    """Patient sign-up. A `role` in the body is ignored: sign-up only ever makes patients.

    An address that already has an account gets the same 201 `{token, user}` shape, but no
    account is made and the token authenticates nothing; the address's owner is told by e-mail
    (docs/security.md, "Sign-up enumeration"). Throttled per client and per address: 429."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle, SignUpRateThrottle, SignUpAddressThrottle]

    class InputSerializer(StrictInput):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
        first_name = serializers.CharField(max_length=150)
        last_name = serializers.CharField(max_length=150)
        date_of_birth = serializers.DateField()
        state = ChoiceField(choices=US_STATE_CHOICES)
        timezone = TimeZoneField()
        phone = PhoneNumberField(required=False, allow_blank=True, region="US")

    @extend_schema(
        request=InputSerializer,
        responses={201: TokenOutput},
        examples=[
            OpenApiExample(
                "Sign up",
                value={
                    "email": "sam@example.com",
                    "password": "a long passphrase 42",
                    "first_name": "Samantha",
                    "last_name": "Ortiz",
                    "date_of_birth": "1990-04-02",
                    "state": "NY",
                    "timezone": "America/New_York",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        sign_up = services.patient_sign_up(
            email=fields["email"],
            password=fields["password"],
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            date_of_birth=fields["date_of_birth"],
            state=fields["state"],
            timezone_name=fields["timezone"],
            phone=str(fields.get("phone") or ""),
        )
        return Response(
            TokenOutput({"token": sign_up.token, "user": sign_up.user}).data,
            status=status.HTTP_201_CREATED,
        )


class LoginApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    class InputSerializer(StrictInput):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        otp = serializers.CharField(max_length=12, required=False, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={200: TokenOutput},
        examples=[
            OpenApiExample(
                "Patient sign-in",
                value={"email": "patient@demo.carecore.test", "password": "carecore-demo"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Sign in with email and password (and `otp` for staff when MFA is required): a bearer
        token for `Authorization: Bearer <token>` and the user. Wrong credentials: 400
        `invalid_credentials`; too many failures: 429."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = services.auth_login(
            request=request._request,  # django-axes needs the Django request
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            otp=data.validated_data.get("otp") or None,
        )
        return Response(TokenOutput({"token": token, "user": user}).data)


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Revoke the token this request was made with and end the Django session of the
        request, if any (session-cookie clients)."""
        services.auth_logout(request=request._request, user=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    """Changing the password signs out every session; the response carries a fresh token."""

    class InputSerializer(StrictInput):
        current_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.user_password_change(
            user=request.user,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
        )
        return Response(self.OutputSerializer({"token": token}).data)


class MfaEnrollCodeApi(APIView):
    """Staff TOTP enrolment, step 1: email and password → a one-time code e-mailed to the
    account, if it is a staff account without an authenticator (staff who have one get an
    e-mail saying someone tried). The answer is the same 202 whatever the case, including a
    wrong password (which still counts as a failed sign-in)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    class InputSerializer(StrictInput):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        message = serializers.CharField()

    MESSAGE = (
        "If these are the credentials of a staff account that can set up an authenticator, "
        "a code is on its way to its e-mail address."
    )

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.mfa_enrollment_code_send(request=request._request, **data.validated_data)
        return Response(
            self.OutputSerializer({"message": self.MESSAGE}).data, status=status.HTTP_202_ACCEPTED
        )


class MfaEnrollApi(APIView):
    """Staff TOTP enrolment, step 2: password and the e-mailed code → an otpauth:// URI for the
    authenticator app (a new unconfirmed device; the code is used up).

    Wrong email, password or code, an account that cannot enrol (patients; staff who already
    have an authenticator) or no set-up in progress all get the same 400
    `invalid_credentials`; each counts as a failed sign-in (too many: 429 `throttled`)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    class InputSerializer(StrictInput):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        code = serializers.CharField(
            max_length=12, help_text="The code e-mailed by POST /api/v1/auth/mfa/enroll/code/."
        )

    class OutputSerializer(serializers.Serializer):
        otpauth_uri = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        uri = services.mfa_enrollment_start(request=request._request, **data.validated_data)
        return Response(
            self.OutputSerializer({"otpauth_uri": uri}).data, status=status.HTTP_201_CREATED
        )


class MfaConfirmApi(APIView):
    """Staff TOTP enrolment, step 3: password and a first code from the app confirm the
    device; from then on login needs `otp`.

    Wrong email, password or code, an account that cannot enrol (patients; staff who already
    have an authenticator) or no set-up in progress all get the same 400
    `invalid_credentials`; each counts as a failed sign-in (too many: 429 `throttled`)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]

    class InputSerializer(StrictInput):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        otp = serializers.CharField(max_length=12)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.mfa_enrollment_confirm(request=request._request, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- me ------------------------------------------------------------------------------------


class MeApi(APIView):
    """The caller's own account. PATCH changes their time zone, preferred name and phone; a new
    phone number is used only once confirmed with the code sent to it by SMS
    (POST /api/v1/me/phone/confirm/); until then `pending_phone` shows it."""

    class OutputSerializer(UserOutput):
        omit_when_none = ("patient_id", "clinician_id", "profile")

        unread_count = serializers.IntegerField()
        pending_phone = serializers.CharField(
            allow_null=True, help_text="A new number waiting for its code; null if none."
        )
        care_team = CareTeamOutput(required=False, allow_null=True, help_text="Patients only.")
        profile = serializers.DictField(required=False, help_text="Patients and clinicians.")

        def to_representation(self, me: Any) -> Any:
            data = super().to_representation(me)
            if me.patient is None:
                data.pop("care_team", None)  # a patient's key (null without a team)
            return data

    class InputSerializer(StrictInput):
        timezone = TimeZoneField(required=False)
        preferred_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        phone = PhoneNumberField(
            required=False,
            allow_blank=True,
            region="US",
            help_text="E.164 or a US number. A code is sent to it; empty removes the phone.",
        )

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return render_me(request.user)

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "New phone and zone",
                value={
                    "phone": "+12125550147",
                    "timezone": "America/Chicago",
                    "preferred_name": "Sam",
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        phone = fields.get("phone")
        update = services.user_profile_update(
            user=request.user,
            timezone_name=fields.get("timezone"),
            preferred_name=fields.get("preferred_name"),
            phone=None if phone is None else str(phone),
        )
        return render_me(update.user)


def render_me(user: User) -> Response:
    """/me as GET, PATCH and the phone confirmation answer it."""
    me = me_get(user=user)
    if me.clinician is not None:
        me.profile = ClinicianOutput(me.clinician).data
    return Response(MeApi.OutputSerializer(me).data)


class MePhoneConfirmApi(APIView):
    """Confirm a new phone number with the 6-digit code sent to it; it becomes `phone`."""

    class InputSerializer(StrictInput):
        code = serializers.RegexField(r"^\s*\d{6}\s*$", max_length=12)

    @extend_schema(request=InputSerializer, responses={200: MeApi.OutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_phone_confirm(user=request.user, code=data.validated_data["code"])
        return render_me(user)


# --- clinicians ------------------------------------------------------------------------------


class ClinicianOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="user.full_name")
    credentials = serializers.CharField()
    specialties = serializers.ListField(child=serializers.CharField())
    licensed_states = serializers.ListField(child=serializers.CharField())
    visit_types = serializers.ListField(child=serializers.CharField())
    bio = serializers.CharField()
    accepting_new_patients = serializers.BooleanField()


class ClinicianPagination(CursorPagination):
    ordering = ("id",)


class ClinicianListApi(APIView):
    """Public clinician profiles (no patient data), optionally those licensed in `?state=`."""

    class FilterSerializer(AllErrorsSerializer):
        state = ChoiceField(choices=US_STATE_CHOICES, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: ClinicianOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = ClinicianPagination()
        page = paginator.paginate_queryset(
            clinician_list(state=filters.validated_data.get("state")), request, view=self
        )
        return paginator.get_paginated_response(ClinicianOutput(page, many=True).data)


# --- patients -----------------------------------------------------------------------------------


class PatientPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class PatientListApi(APIView):
    """Patients the caller may see: their care teams' (schedulers: all, demographics only)."""

    permission_classes = [has_role(*ALL_ROLES)]

    @extend_schema(responses={200: PatientOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        return audited_list_response(
            request=request,
            view=self,
            rows=patient_list(user=request.user),
            pagination_class=PatientPagination,
            serializer_class=PatientOutput,
            object_type="patient",
            patient_id_of=lambda patient: patient.id,
        )


class PatientDetailApi(APIView):
    permission_classes = [has_role(*ALL_ROLES)]

    @extend_schema(responses={200: PatientOutput})
    def get(self, request: AuthenticatedRequest, patient_id: str) -> Response:
        """One patient with demographics and care team: the care team (clinical roles) and
        schedulers (demographics only); anyone else 404."""
        patient = patient_get(user=request.user, patient_id=patient_id)
        return Response(PatientOutput(patient).data)


class CareTeamUpdateApi(APIView):
    """Change a patient's care team: admins (operations), or the lead clinician of the team.

    The new lead must be licensed in the patient's state; members are clinicians and
    coordinators. The response is the care team as `/me` and `/patients/<id>/` show it.
    """

    permission_classes = [has_role(Role.ADMIN, Role.CLINICIAN)]

    class InputSerializer(StrictInput):
        lead = serializers.UUIDField(allow_null=True, help_text="Clinician id of the new lead.")
        members = serializers.ListField(
            child=serializers.UUIDField(), max_length=50, help_text="User ids of members."
        )

    @extend_schema(request=InputSerializer, responses={200: CareTeamOutput})
    def put(self, request: AuthenticatedRequest, patient_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        care_team = services.care_team_change(
            actor=request.user,
            patient_id=patient_id,
            lead_clinician_id=data.validated_data["lead"],
            member_user_ids=data.validated_data["members"],
        )
        patient = patient_with_care_team(patient=care_team.patient)
        return Response(CareTeamOutput(patient.care_team).data)


class BreakGlassApi(APIView):
    """Emergency access to a patient outside one's care team: time-limited and audited."""

    permission_classes = [has_role(Role.CLINICIAN, Role.ADMIN)]

    class InputSerializer(StrictInput):
        reason = serializers.CharField(
            min_length=20,
            max_length=2000,
            error_messages={"min_length": "Explain why in at least 20 characters."},
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        patient_id = serializers.UUIDField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: AuthenticatedRequest, patient_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.break_glass_open(
            user=request.user, patient_id=patient_id, reason=data.validated_data["reason"]
        )
        return Response(self.OutputSerializer(grant).data, status=status.HTTP_201_CREATED)
