"""The admin is not a side door to patients (issue #12, item 5; docs/security.md, "Admin").

Through the real admin and Django's test client: patient rows shown are audited like API reads,
nobody sets a patient's password there (the patient gets a reset e-mail and chooses one), TOTP
secrets are never shown, and break-glass grants, care teams and audit rows cannot be deleted.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from carecore.accounts import services
from carecore.accounts.models import BreakGlassGrant, CareTeam, Role, User
from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-staff-passphrase"
NEW_PASSWORD = "a-brand-new-patient-passphrase"


def staff(role: str, email: str) -> User:
    return services.staff_user_create(
        actor=None,
        email=email,
        password=PASSWORD,
        first_name="Staff",
        last_name=role.title(),
        role=role,
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user() -> User:
    return staff(Role.ADMIN, "admin@example.test")


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root@example.test", PASSWORD, first_name="Root")


def _admin_events(actor: User, **filters):
    return AuditEvent.objects.filter(actor_id=actor.id, detail__via="admin", **filters)


# --- patient rows are audited ------------------------------------------------------------------


def test_listing_users_audits_each_patient_row_shown(admin_user, patient, other_patient):
    response = signed_in(admin_user).get("/admin/accounts/user/")

    assert response.status_code == 200
    assert patient.user.email in response.content.decode()
    listed = _admin_events(admin_user, action="list", object_type="user")
    assert sorted(map(str, listed.values_list("patient_id", flat=True))) == sorted(
        [str(patient.id), str(other_patient.id)]
    )
    # Staff rows are not patient data: the admin's own row is not in the trail.
    assert not listed.filter(object_id=str(admin_user.id)).exists()


def test_searching_for_a_patient_audits_what_the_search_shows(admin_user, patient, other_patient):
    # (patient@example.test would also match other-patient@example.test)
    response = signed_in(admin_user).get("/admin/accounts/user/", {"q": other_patient.user.email})

    assert response.status_code == 200
    listed = _admin_events(admin_user, action="list")
    assert list(listed.values_list("patient_id", flat=True)) == [other_patient.id]


def test_the_list_costs_the_same_queries_whatever_the_number_of_patients(
    admin_user, patient, other_patient, django_assert_max_num_queries
):
    client = signed_in(admin_user)
    client.get("/admin/accounts/user/")  # warm the session and the content types

    # Session, user, counts, the page of users with their patient profiles (one join), the
    # filters, and one INSERT for the audit events of every patient row shown.
    with django_assert_max_num_queries(12):
        client.get("/admin/accounts/user/")


def test_opening_a_patient_audits_a_read(admin_user, patient):
    response = signed_in(admin_user).get(f"/admin/accounts/user/{patient.user.id}/change/")

    assert response.status_code == 200
    (event,) = _admin_events(admin_user, action="read")
    assert event.patient_id == patient.id
    assert event.object_id == str(patient.user.id)


def test_care_teams_and_grants_shown_are_audited(admin_user, superuser, patient):
    grant = services.break_glass_open(
        user=admin_user, patient_id=patient.id, reason="Patient called the front desk in distress"
    )
    client = signed_in(superuser)

    client.get("/admin/accounts/careteam/")
    client.get(f"/admin/accounts/careteam/{patient.care_team.id}/change/")
    client.get("/admin/accounts/breakglassgrant/")
    client.get(f"/admin/accounts/breakglassgrant/{grant.id}/change/")

    shown = set(_admin_events(superuser).values_list("object_type", "action", "patient_id"))
    assert shown == {
        ("care_team", "list", patient.id),
        ("care_team", "read", patient.id),
        ("break_glass_grant", "list", patient.id),
        ("break_glass_grant", "read", patient.id),
    }


def test_a_patients_notifications_shown_in_the_outbox_are_audited(superuser, patient, clinician):
    from carecore.notifications.models import Channel, Event, Notification
    from carecore.notifications.services import notify

    notify(
        event=Event.CARE_PLAN_PUBLISHED,
        recipients=[patient.user, clinician.user],
        subject_type="care_plan",
        subject_id="plan-1",
    )
    to_patient = Notification.objects.get(recipient=patient.user, channel=Channel.IN_APP)
    client = signed_in(superuser)

    client.get("/admin/notifications/notification/")
    client.get(f"/admin/notifications/notification/{to_patient.id}/change/")

    shown = _admin_events(superuser, object_type="notification")
    assert set(shown.values_list("action", "patient_id")) == {
        ("list", patient.id),
        ("read", patient.id),
    }
    # Only the patient's rows: the clinician's notification is not patient data.
    assert set(shown.values_list("object_id", flat=True)) == set(
        map(str, Notification.objects.filter(recipient=patient.user).values_list("id", flat=True))
    )


def test_the_account_picker_never_lists_patients(superuser, patient, clinician):
    response = signed_in(superuser).get(
        "/admin/autocomplete/",
        {
            "app_label": "accounts",
            "model_name": "clinician",
            "field_name": "user",
            "term": "example.test",
        },
    )

    assert response.status_code == 200
    shown = {row["text"] for row in response.json()["results"]}
    assert clinician.user.email in shown
    assert patient.user.email not in shown


# --- patient passwords -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "superuser"])
def test_nobody_sets_a_patients_password_in_the_admin(request, who, patient):
    client = signed_in(request.getfixturevalue(who))
    before = User.objects.get(pk=patient.user.pk).password

    page = client.get(f"/admin/accounts/user/{patient.user.id}/change/")
    form = client.get(f"/admin/accounts/user/{patient.user.id}/password/")
    posted = client.post(
        f"/admin/accounts/user/{patient.user.id}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert page.status_code == 200
    body = page.content.decode()
    assert "../password/" not in body
    assert 'name="password' not in body
    assert form.status_code == posted.status_code == 403
    assert User.objects.get(pk=patient.user.pk).password == before


def test_a_patients_profile_is_read_only_but_for_deactivation(superuser, patient):
    user = patient.user
    client = signed_in(superuser)

    response = client.post(
        f"/admin/accounts/user/{user.id}/change/",
        {
            "email": "attacker@example.test",
            "first_name": "Mallory",
            "is_staff": "on",
            "is_superuser": "on",
            "is_active": "",
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email != "attacker@example.test"
    assert user.first_name != "Mallory"
    assert not user.is_staff and not user.is_superuser
    assert not user.is_active


def test_a_patient_gets_a_reset_email_and_chooses_a_new_password(
    admin_user, patient, client_for, django_capture_on_commit_callbacks
):
    user = patient.user
    token = services.token_issue(user=user)
    assert token

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(admin_user).post(
            "/admin/accounts/user/",
            {"action": "send_password_reset", "_selected_action": [str(user.id)]},
        )

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [user.email]
    body = str(message.body)
    assert user.first_name not in body
    link = re.search(r"https?://\S+(/password-reset/\S+/)", body)
    assert link is not None
    assert AuditEvent.objects.filter(
        actor_id=admin_user.id, object_id=str(user.id), detail__password_reset_sent=True
    ).exists()

    # The patient opens the link: Django moves the token into the session, then asks.
    browser = Client()
    form = browser.get(link.group(1), follow=True)
    assert form.status_code == 200
    set_password_url = form.redirect_chain[-1][0]
    done = browser.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not AuthToken.objects.filter(user=user).exists()  # every API client signed out
    # The link works once.
    assert "has been used already" in Client().get(link.group(1), follow=True).content.decode()


def test_an_admin_may_still_reset_a_staff_members_password_here(admin_user):
    colleague = staff(Role.SCHEDULER, "scheduler@example.test")

    response = signed_in(admin_user).get(f"/admin/accounts/user/{colleague.id}/password/")

    assert response.status_code == 200


# --- TOTP secrets --------------------------------------------------------------------------------


def test_totp_secrets_and_qr_codes_are_never_shown(superuser, coordinator):
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    client = signed_in(superuser)

    change = client.get(f"/admin/otp_totp/totpdevice/{device.id}/change/")
    listing = client.get("/admin/otp_totp/totpdevice/")

    assert change.status_code == listing.status_code == 200
    assert device.key not in change.content.decode() + listing.content.decode()
    assert client.get(f"/admin/otp_totp/totpdevice/{device.id}/config/").status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{device.id}/qrcode/").status_code == 403


# --- what cannot be deleted ------------------------------------------------------------------


@pytest.fixture
def records(admin_user, patient) -> dict[str, str]:
    grant = services.break_glass_open(
        user=admin_user, patient_id=patient.id, reason="Patient called the front desk in distress"
    )
    event = audit_record(actor=admin_user, object_type="patient", object_id=patient.id)
    return {
        "accounts/breakglassgrant": str(grant.id),
        "accounts/careteam": str(patient.care_team.id),
        "audit/auditevent": str(event.id),
        "accounts/user": str(patient.user.id),
    }


@pytest.mark.parametrize(
    "model", ["accounts/breakglassgrant", "accounts/careteam", "audit/auditevent", "accounts/user"]
)
@pytest.mark.parametrize("who", ["admin_user", "superuser"])
def test_records_cannot_be_deleted_in_the_admin(request, records, model, who):
    client = signed_in(request.getfixturevalue(who))
    object_id = records[model]

    page = client.get(f"/admin/{model}/{object_id}/delete/")
    posted = client.post(f"/admin/{model}/{object_id}/delete/", {"post": "yes"})
    bulk = client.post(
        f"/admin/{model}/",
        {"action": "delete_selected", "_selected_action": [object_id], "post": "yes"},
    )

    assert page.status_code == posted.status_code == 403
    assert bulk.status_code in (200, 302)  # "no action selected": the action is not offered
    assert BreakGlassGrant.objects.filter(pk=records["accounts/breakglassgrant"]).exists()
    assert CareTeam.objects.filter(pk=records["accounts/careteam"]).exists()
    assert AuditEvent.objects.filter(pk=records["audit/auditevent"]).exists()
    assert User.objects.filter(pk=records["accounts/user"]).exists()


def test_grants_cannot_be_changed_in_the_admin(superuser, records):
    grant_id = records["accounts/breakglassgrant"]

    response = signed_in(superuser).post(
        f"/admin/accounts/breakglassgrant/{grant_id}/change/", {"reason": "Nothing to see here."}
    )

    assert response.status_code == 403
    assert BreakGlassGrant.objects.get(pk=grant_id).reason.startswith("Patient called")
