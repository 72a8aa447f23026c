"""Break-glass is read-only, immutable, marked on every read and announced (issue 12, item 3).

A grant lets a clinician or admin outside the care team *read* one patient's data for a while.
It never lets them change it, it cannot be edited or removed afterwards, each read under it is
marked in the audit trail with the grant's id, and the patient's lead clinician and the admins
are told in the app.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from carecore.accounts import services
from carecore.accounts.models import BreakGlassGrant, GrantImmutable
from carecore.audit.models import AuditEvent
from carecore.notifications.models import Channel, Event, Notification
from intake.models import IntakeReview

from ..factories import UserFactory
from ..intake.test_intake_apis import REVIEWS, healthy_intake, poem, submit
from ..messaging.conftest import open_thread

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

REASON = "Patient called the on-call line; their care team is unreachable tonight."
MARKER_KEYS = {"break_glass", "grant_id"}


def open_grant(user, patient) -> BreakGlassGrant:
    return services.break_glass_open(user=user, patient_id=patient.id, reason=REASON)


def marker(grant: BreakGlassGrant) -> dict[str, object]:
    return {"break_glass": True, "grant_id": str(grant.id)}


# --- read-only --------------------------------------------------------------------------------


def test_a_clinician_on_a_grant_reads_but_cannot_draft_or_publish_a_plan(
    client_for, patient, clinician, other_clinician
):
    patient_client = client_for(patient.user)
    submit(patient_client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    submit(patient_client, "gut-skin-intake", healthy_intake())
    plan = client_for(clinician.user).post(f"/api/v1/patients/{patient.id}/care-plans/").json()
    open_grant(other_clinician.user, patient)
    client = client_for(other_clinician.user)

    assert client.get(f"/api/v1/patients/{patient.id}/").status_code == 200
    assert client.get(f"/api/v1/care-plans/{plan['id']}/").status_code == 200
    assert client.post(f"/api/v1/care-plans/{plan['id']}/publish/").status_code == 404
    assert client.delete(f"/api/v1/care-plans/{plan['id']}/").status_code == 404
    # Drafting is refused too: the one-draft rule answers before access would, so the
    # care team's draft is discarded first.
    client_for(clinician.user).delete(f"/api/v1/care-plans/{plan['id']}/")
    assert client.post(f"/api/v1/patients/{patient.id}/care-plans/").status_code == 404


def test_a_clinician_on_a_grant_reads_but_cannot_complete_a_red_flag_review(
    client_for, patient, other_clinician
):
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))
    review = IntakeReview.objects.get()
    open_grant(other_clinician.user, patient)
    client = client_for(other_clinician.user)

    assert client.get(f"{REVIEWS}{review.id}/").status_code == 200
    response = client.post(f"{REVIEWS}{review.id}/complete/", {"note": "Seen."}, format="json")

    assert response.status_code == 404
    review.refresh_from_db()
    assert review.status != "completed"
    denied = AuditEvent.objects.get(outcome="denied", object_type="intake_review")
    assert denied.actor_id == other_clinician.user.id


def test_a_clinician_on_a_grant_reads_the_threads_but_cannot_write_to_the_patient(
    client_for, patient, other_clinician
):
    thread = open_thread(patient)
    open_grant(other_clinician.user, patient)
    client = client_for(other_clinician.user)

    assert client.get(f"/api/v1/threads/{thread.id}/messages/").status_code == 200
    reply = client.post(f"/api/v1/threads/{thread.id}/messages/", {"body": "Hello"})
    opened = client.post(
        "/api/v1/threads/",
        {"patient": str(patient.id), "subject": "Hi", "category": "clinical", "body": "Hi"},
    )

    assert (reply.status_code, opened.status_code) == (404, 404)
    # Only the patient's message (after care-team hours, an automatic reply follows it).
    assert thread.messages.exclude(sender_kind="system").count() == 1


# --- immutable ----------------------------------------------------------------------------------


def test_a_grant_and_its_reason_cannot_be_changed_or_deleted(patient, other_clinician):
    grant = open_grant(other_clinician.user, patient)

    grant.reason = "Nothing to see here, just browsing."
    with pytest.raises(GrantImmutable):
        grant.save()
    with pytest.raises(GrantImmutable):
        grant.delete()
    # Nor from around the model: the database refuses (trigger, like the audit trail's).
    for attempt in (
        lambda: BreakGlassGrant.objects.filter(pk=grant.pk).update(reason="edited"),
        lambda: BreakGlassGrant.objects.filter(pk=grant.pk).update(
            expires_at=timezone.now() + timedelta(days=30)
        ),
        lambda: BreakGlassGrant.objects.filter(pk=grant.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()

    stored = BreakGlassGrant.objects.get(pk=grant.pk)
    assert (stored.reason, stored.expires_at) == (REASON, grant.expires_at)


# --- marked in the audit trail ----------------------------------------------------------------


def test_every_read_under_a_grant_is_marked_with_the_grant(client_for, patient, other_clinician):
    thread = open_thread(patient)
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))
    review = IntakeReview.objects.get()
    grant = open_grant(other_clinician.user, patient)
    client = client_for(other_clinician.user)
    started = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    client.get(f"/api/v1/patients/{patient.id}/")  # access_patient
    client.get(f"{REVIEWS}{review.id}/")  # another app's helper on audited_get
    client.get("/api/v1/threads/")  # a list: one event per row shown
    client.get(f"/api/v1/threads/{thread.id}/messages/")

    reads = AuditEvent.objects.filter(id__gt=started, actor_id=other_clinician.user.id)
    assert {(event.action, event.object_type) for event in reads} >= {
        ("read", "patient"),
        ("read", "intake_review"),
        ("list", "message_thread"),
        ("read", "message_thread"),
        ("list", "message"),
    }
    for event in reads:
        assert event.patient_id == patient.id
        assert {key: event.detail.get(key) for key in MARKER_KEYS} == marker(grant), event


def test_care_team_reads_are_not_marked_and_denials_name_no_grant(
    client_for, patient, other_patient, clinician, other_clinician
):
    open_grant(other_clinician.user, patient)
    started = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    client_for(clinician.user).get(f"/api/v1/patients/{patient.id}/")
    # Its own patient: other_clinician is on other_patient's team.
    client_for(other_clinician.user).get(f"/api/v1/patients/{other_patient.id}/")
    client_for(clinician.user).get(f"/api/v1/patients/{other_patient.id}/")  # denied

    events = AuditEvent.objects.filter(id__gt=started)
    assert events.count() == 3
    for event in events:
        assert not MARKER_KEYS & set(event.detail), event


def test_a_write_keeps_its_own_detail_and_is_not_marked(client_for, patient, clinician):
    thread = open_thread(patient)
    started = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    client_for(clinician.user).post(f"/api/v1/threads/{thread.id}/messages/", {"body": "Hi"})

    for event in AuditEvent.objects.filter(id__gt=started):
        assert not MARKER_KEYS & set(event.detail)


# --- announced ----------------------------------------------------------------------------------


def test_the_lead_clinician_and_the_admins_get_an_in_app_notice_without_patient_text(
    patient, clinician, other_clinician, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        grant = open_grant(other_clinician.user, patient)

    notices = Notification.objects.filter(event=Event.BREAK_GLASS_OPENED)
    in_app = notices.filter(channel=Channel.IN_APP)
    assert set(in_app.values_list("recipient_id", flat=True)) == {
        clinician.user.id,
        admin_user.id,
    }
    for notice in in_app:
        assert (notice.subject_type, notice.subject_id) == ("break_glass_grant", str(grant.id))
        text = f"{notice.title} {notice.body} {notice.link_path}"
        for private in (
            patient.user.first_name,
            patient.user.last_name,
            patient.user.email,
            str(patient.id),
            REASON,
        ):
            assert private not in text
    # In the app only by default; the holder is not told about their own grant.
    assert not notices.exclude(channel=Channel.IN_APP).exists()
    assert not notices.filter(recipient=other_clinician.user).exists()


def test_an_admins_grant_is_announced_to_the_lead_and_the_other_admins(
    patient, clinician, admin_user
):
    second_admin = UserFactory(role="admin", email="second-admin@example.test")

    open_grant(admin_user, patient)

    recipients = set(
        Notification.objects.filter(
            event=Event.BREAK_GLASS_OPENED, channel=Channel.IN_APP
        ).values_list("recipient_id", flat=True)
    )
    assert recipients == {clinician.user.id, second_admin.id}
