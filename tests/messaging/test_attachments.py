"""Attachments: type from the bytes, size limit, EXIF/GPS removed, private until sent, downloads
only for readers of the message (never a patient for an internal note), every download audited."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from carecore.audit.models import AuditEvent
from carecore.common.errors import ValidationFailed
from messaging import services, tasks
from messaging.models import Attachment

pytestmark = pytest.mark.django_db

UPLOAD = "/api/v1/attachments/"
THREADS = "/api/v1/threads/"
GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 120, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 degrees to display
    exif.get_ifd(GPS_IFD)[2] = (40.0, 44.0, 54.36)  # latitude
    exif.get_ifd(GPS_IFD)[1] = "N"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    info = PngInfo()
    info.add_text("Comment", "patient name here")
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def minimal_pdf() -> bytes:
    """A real one-page PDF (uploads are rewritten by qpdf, which needs a document catalog)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


PDF = minimal_pdf()


def upload(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return client.post(
        UPLOAD,
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart",
    )


def send_with(client, thread, attachment_id: str, **extra):
    return client.post(
        f"{THREADS}{thread.id}/messages/",
        {"body": "see attached", "attachments": [attachment_id], **extra},
        format="json",
    )


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator"])
def test_participants_upload_and_the_image_loses_its_exif(actors, client_for, actor):
    response = upload(client_for(actors[actor]), jpeg_with_gps())

    assert response.status_code == 201
    body = response.json()
    assert body["content_type"] == "image/jpeg"
    assert body["url"] == f"/api/v1/attachments/{body['id']}/"
    stored = Attachment.objects.get(pk=body["id"])
    path = Path(settings.MEDIA_ROOT) / "attachments" / stored.storage_name
    with Image.open(path) as image:
        assert not image.getexif()
        assert "exif" not in image.info
        # The orientation was applied to the pixels before EXIF was dropped.
        assert image.size == (30, 40)
    assert "photo" not in stored.storage_name


def test_png_text_chunks_are_dropped(client_for, patient):
    response = upload(client_for(patient.user), png_bytes(), "scan.png", "image/png")

    assert response.status_code == 201
    stored = Attachment.objects.get(pk=response.json()["id"])
    data = (Path(settings.MEDIA_ROOT) / "attachments" / stored.storage_name).read_bytes()
    assert b"patient name here" not in data


def test_pdfs_are_accepted(client_for, patient):
    response = upload(client_for(patient.user), PDF, "labs.pdf", "application/pdf")
    assert response.status_code == 201
    assert response.json()["content_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("data", "name", "claimed"),
    [
        (b"MZ\x90\x00 this is a windows executable", "photo.jpg", "image/jpeg"),
        (b"<html><script>alert(1)</script></html>", "scan.png", "image/png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif", "image/gif"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", "photo.jpg", "image/jpeg"),
        (b"%PDF-1.4 no end marker", "labs.pdf", "application/pdf"),
    ],
)
def test_the_type_comes_from_the_bytes_not_the_name(client_for, patient, data, name, claimed):
    response = upload(client_for(patient.user), data, name, claimed)

    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]
    assert not Attachment.objects.exists()


@override_settings(CARECORE_MESSAGING_ATTACHMENT_MAX_BYTES=1000)
def test_files_over_the_size_limit_are_refused(client_for, patient):
    response = upload(client_for(patient.user), PDF + b" " * 2000, "big.pdf", "application/pdf")
    # 413 like every body over a cap (docs/security.md, "Request and upload limits").
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["fields"] == {"file": ["Files may be at most 1000 bytes."]}
    assert not Attachment.objects.exists()


def test_schedulers_and_admins_cannot_upload(client_for, scheduler, admin_user):
    assert upload(client_for(scheduler), PDF, "a.pdf").status_code == 403
    assert upload(client_for(admin_user), PDF, "a.pdf").status_code == 403


def test_an_unsent_attachment_is_private_to_its_uploader(client_for, patient, clinician):
    attachment_id = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]

    assert client_for(patient.user).get(f"{UPLOAD}{attachment_id}/").status_code == 200
    assert client_for(clinician.user).get(f"{UPLOAD}{attachment_id}/").status_code == 404


def test_a_sent_attachment_is_downloaded_by_the_thread_readers_only(
    actors, client_for, patient, thread
):
    attachment_id = upload(client_for(patient.user), jpeg_with_gps()).json()["id"]
    sent = send_with(client_for(patient.user), thread, attachment_id)
    assert sent.status_code == 201
    assert [a["id"] for a in sent.json()["attachments"]] == [attachment_id]

    for actor in ("patient", "clinician", "coordinator"):
        response = client_for(actors[actor]).get(f"{UPLOAD}{attachment_id}/")
        assert response.status_code == 200
        assert response["Content-Disposition"] == (
            f'attachment; filename="attachment-{attachment_id}.jpg"'
        )
        assert response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    for actor in ("other_patient", "other_clinician", "admin"):
        assert client_for(actors[actor]).get(f"{UPLOAD}{attachment_id}/").status_code == 404
    assert client_for(actors["scheduler"]).get(f"{UPLOAD}{attachment_id}/").status_code == 403


FILES = {
    "image/jpeg": (jpeg_with_gps, "photo.jpg"),
    "image/png": (png_bytes, "scan.png"),
    "application/pdf": (lambda: PDF, "labs.pdf"),
}


def sent_attachment(client, thread, media_type: str) -> str:
    data, name = FILES[media_type]
    attachment_id = upload(client, data(), name, media_type).json()["id"]
    assert send_with(client, thread, attachment_id).status_code == 201
    return attachment_id


@pytest.mark.parametrize("media_type", FILES)
@pytest.mark.parametrize(
    "accept",
    [
        "{own}",
        "{own}, application/json",
        "*/*",
        None,
        "{main}/*",
        # What browsers send for <img> and for a link.
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ],
)
def test_a_download_asked_for_in_its_own_type_or_any_gets_the_file(
    client_for, patient, thread, media_type, accept
):
    client = client_for(patient.user)
    attachment_id = sent_attachment(client, thread, media_type)
    headers = (
        {}
        if accept is None
        else {"HTTP_ACCEPT": accept.format(own=media_type, main=media_type.split("/")[0])}
    )

    response = client.get(f"{UPLOAD}{attachment_id}/", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert b"".join(response.streaming_content)[:2] == FILES[media_type][0]()[:2]


@pytest.mark.parametrize(
    ("media_type", "accept"),
    [
        ("application/pdf", "image/jpeg"),
        ("image/png", "image/jpeg, application/pdf"),
        ("image/jpeg", "application/json"),
        ("image/png", "image/png;q=0, image/jpeg"),
    ],
)
def test_a_download_asked_for_in_another_type_only_is_a_406_naming_its_type(
    client_for, patient, thread, media_type, accept
):
    client = client_for(patient.user)
    attachment_id = sent_attachment(client, thread, media_type)

    response = client.get(f"{UPLOAD}{attachment_id}/", HTTP_ACCEPT=accept)

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "not_acceptable",
            "message": f"This file is {media_type}: ask for it with Accept: {media_type} (or */*).",
            "fields": {},
        }
    }


def test_format_names_the_type_as_accept_does(client_for, patient, thread):
    client = client_for(patient.user)
    attachment_id = sent_attachment(client, thread, "image/png")

    own = client.get(f"{UPLOAD}{attachment_id}/", {"format": "png"})
    other = client.get(f"{UPLOAD}{attachment_id}/", {"format": "pdf"})
    json_asked = client.get(f"{UPLOAD}{attachment_id}/", {"format": "json"})

    assert own.status_code == 200
    assert own["Content-Type"] == "image/png"
    assert other.status_code == json_asked.status_code == 406
    assert other.json()["error"]["code"] == "not_acceptable"


@pytest.mark.parametrize("accept", ["image/png", "application/pdf", "image/jpeg"])
def test_errors_stay_json_whatever_type_was_asked_for(
    client_for, patient, other_patient, thread, accept
):
    attachment_id = sent_attachment(client_for(patient.user), thread, "image/png")

    outsider = client_for(other_patient.user).get(f"{UPLOAD}{attachment_id}/", HTTP_ACCEPT=accept)
    missing = client_for(patient.user).get(f"{UPLOAD}{uuid.uuid4()}/", HTTP_ACCEPT=accept)

    for response in (outsider, missing):
        assert response.status_code == 404  # not a 406: whether it exists is not told
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"


def test_a_type_no_download_is_in_is_drfs_406_in_the_contracts_shape(client_for, patient, thread):
    attachment_id = sent_attachment(client_for(patient.user), thread, "image/png")

    response = client_for(patient.user).get(f"{UPLOAD}{attachment_id}/", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_acceptable"


def test_every_download_is_audited(client_for, patient, clinician, thread):
    attachment_id = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]
    send_with(client_for(patient.user), thread, attachment_id)

    client_for(clinician.user).get(f"{UPLOAD}{attachment_id}/")
    client_for(clinician.user).get(f"{UPLOAD}{attachment_id}/")

    events = AuditEvent.objects.filter(object_id=attachment_id, action="download")
    assert events.count() == 2
    assert all(e.patient_id == thread.patient_id for e in events)


def test_an_internal_notes_attachment_never_reaches_the_patient(
    client_for, patient, clinician, thread
):
    attachment_id = upload(client_for(clinician.user), PDF, "a.pdf").json()["id"]
    send_with(client_for(clinician.user), thread, attachment_id, internal=True)

    assert client_for(patient.user).get(f"{UPLOAD}{attachment_id}/").status_code == 404
    listed = client_for(patient.user).get(f"{THREADS}{thread.id}/messages/").json()["results"]
    assert attachment_id not in str(listed)
    assert client_for(clinician.user).get(f"{UPLOAD}{attachment_id}/").status_code == 200


def test_someone_elses_or_an_already_sent_attachment_cannot_be_sent(
    client_for, patient, clinician, thread
):
    theirs = upload(client_for(clinician.user), PDF, "a.pdf").json()["id"]
    mine = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]
    me = client_for(patient.user)

    assert send_with(me, thread, theirs).status_code == 400
    assert send_with(me, thread, str(uuid.uuid4())).status_code == 400
    assert send_with(me, thread, mine).status_code == 201
    assert send_with(me, thread, mine).status_code == 400
    # The failed sends left nothing behind.
    assert thread.messages.filter(body="see attached").count() == 1


def test_unsent_attachments_are_deleted_after_a_day(client_for, patient, thread, clock):
    kept_id = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]
    send_with(client_for(patient.user), thread, kept_id)
    stale_id = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]
    stale = Attachment.objects.get(pk=stale_id)
    path = Path(settings.MEDIA_ROOT) / "attachments" / stale.storage_name
    assert path.exists()

    clock.shift(timedelta(hours=25))
    assert tasks.delete_unsent_attachments() == 1
    assert tasks.delete_unsent_attachments() == 0

    assert not Attachment.objects.filter(pk=stale_id).exists()
    assert Attachment.objects.filter(pk=kept_id).exists()
    assert not path.exists()


def test_discarding_deletes_only_the_actors_own_unsent_uploads_and_their_files(
    client_for, patient, other_patient, thread
):
    sent_id = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]
    send_with(client_for(patient.user), thread, sent_id)
    unsent_id = upload(client_for(patient.user), PDF, "a.pdf").json()["id"]
    theirs_id = upload(client_for(other_patient.user), PDF, "a.pdf").json()["id"]
    unsent = Attachment.objects.get(pk=unsent_id)
    path = Path(settings.MEDIA_ROOT) / "attachments" / unsent.storage_name

    discarded = services.attachments_discard(
        actor=patient.user, attachment_ids=[sent_id, unsent_id, theirs_id]
    )

    assert discarded == 1
    assert not Attachment.objects.filter(pk=unsent_id).exists()
    assert not path.exists()
    assert Attachment.objects.filter(pk__in=[sent_id, theirs_id]).count() == 2
    assert (
        AuditEvent.objects.get(
            actor_id=patient.user.id, object_id=unsent_id, action="delete"
        ).object_type
        == "message_attachment"
    )


def test_the_service_refuses_empty_files(patient):
    with pytest.raises(ValidationFailed):
        services.attachment_upload(actor=patient.user, upload=ContentFile(b""))
