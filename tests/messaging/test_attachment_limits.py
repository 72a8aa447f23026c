"""Upload limits past the body cap (docs/security.md, "Request and upload limits"): images are
refused by their pixel count before decoding, PDFs are stored without metadata or anything a viewer
would run, and a user may keep only so many uploads unsent."""

from __future__ import annotations

import io
import threading
import uuid
from pathlib import Path

import pikepdf
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test import override_settings
from PIL import Image

from carecore.accounts.models import User
from messaging import services
from messaging.models import Attachment
from tests.factories import PatientFactory
from tests.worker import wait_until

from .test_attachments import PDF, send_with, upload

pytestmark = pytest.mark.django_db


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, format="PNG")
    return out.getvalue()


def stored_bytes(attachment_id: str) -> bytes:
    stored = Attachment.objects.get(pk=attachment_id)
    return (Path(settings.MEDIA_ROOT) / "attachments" / stored.storage_name).read_bytes()


# --- images: pixels capped before decoding -------------------------------------------------------


def test_an_image_over_the_default_pixel_cap_is_refused_with_a_clear_message(client_for, patient):
    # 25,005,000 pixels: one row over 25 megapixels, a few kilobytes as a PNG.
    response = upload(client_for(patient.user), png(5001, 5000), "scan.png", "image/png")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["file"] == [
        "The image is too large (5001 x 5000 pixels); at most 25 megapixels are accepted. "
        "Send a smaller photo or a screenshot of it."
    ]
    assert not Attachment.objects.exists()


@override_settings(CARECORE_MESSAGING_IMAGE_MAX_PIXELS=1_000_000)
def test_the_pixel_cap_is_a_setting_and_an_image_at_the_cap_is_stored(client_for, patient):
    client = client_for(patient.user)

    assert upload(client, png(1000, 1000), "scan.png", "image/png").status_code == 201
    refused = upload(client, png(1001, 1000), "scan.png", "image/png")
    assert refused.status_code == 400
    assert "at most 1 megapixels" in refused.json()["error"]["fields"]["file"][0]


@override_settings(CARECORE_MESSAGING_IMAGE_MAX_PIXELS=1_000_000)
def test_the_pixel_count_is_checked_from_the_header_before_decoding(client_for, patient):
    # A PNG cut off right after its first image-data chunk header: decoding it would fail as
    # unreadable, so "too large" proves the pixels were never decoded.
    data = png(2000, 1000)
    truncated = data[: data.index(b"IDAT") + 8]

    response = upload(client_for(patient.user), truncated, "scan.png", "image/png")

    assert response.status_code == 400
    assert "too large" in response.json()["error"]["fields"]["file"][0]


# --- PDFs: metadata and active content removed -----------------------------------------------


def hostile_pdf() -> bytes:
    """A PDF with document and XMP metadata, JavaScript run on open, on a page event, from the
    document's name tree and from a link, an embedded file (name tree, associated file and an
    attachment annotation), an XFA form, and one ordinary web link."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0].obj

    def javascript(code: str) -> pikepdf.Dictionary:
        return pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(code))

    pdf.docinfo["/Author"] = "Jane Patient"
    pdf.docinfo["/Title"] = "Biopsy result for Jane Patient"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = ["Jane Patient XMP"]
    pdf.Root.OpenAction = javascript("app.alert('document opened')")
    page.AA = pikepdf.Dictionary(O=javascript("app.alert('page opened')"))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(
            Names=pikepdf.Array(
                [pikepdf.String("init"), pdf.make_indirect(javascript("app.alert('named')"))]
            )
        )
    )
    pdf.attachments["payload.txt"] = pikepdf.AttachedFileSpec(
        pdf, b"secret embedded payload", filename="payload.txt"
    )
    web_link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 10, 10],
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://clinic.example/")),
    )
    script_link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[10, 10, 20, 20],
        A=javascript("app.alert('clicked')"),
    )
    launch_link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[20, 20, 30, 30],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")),
    )
    file_annotation = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.FileAttachment,
        Rect=[30, 30, 40, 40],
        FS=pikepdf.AttachedFileSpec(pdf, b"another payload", filename="b.txt").obj,
    )
    page.Annots = pdf.make_indirect(
        pikepdf.Array(
            [
                pdf.make_indirect(web_link),
                pdf.make_indirect(script_link),
                pdf.make_indirect(launch_link),
                pdf.make_indirect(file_annotation),
            ]
        )
    )
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=pikepdf.Array(), XFA=pdf.make_stream(b"<xdp:xdp><script>evil()</script></xdp:xdp>")
    )
    out = io.BytesIO()
    # Uncompressed, so the raw bytes show what would be stored.
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


def test_a_pdf_is_stored_without_metadata_or_active_content(client_for, patient):
    original = hostile_pdf()
    for marker in (b"Jane Patient", b"app.alert", b"secret embedded payload", b"evil()"):
        assert marker in original

    response = upload(client_for(patient.user), original, "labs.pdf", "application/pdf")

    assert response.status_code == 201
    stored = stored_bytes(response.json()["id"])
    assert response.json()["size"] == len(stored)
    for marker in (
        b"Jane Patient",
        b"app.alert",
        b"secret embedded payload",
        b"another payload",
        b"evil()",
        b"/JavaScript",
        b"/JS",
        b"/OpenAction",
        b"/AA",
        b"/EmbeddedFile",
        b"/Launch",
        b"xmpmeta",
    ):
        assert marker not in stored, marker
    with pikepdf.open(io.BytesIO(stored)) as pdf:
        assert "/Info" not in pdf.trailer
        assert "/Metadata" not in pdf.Root
        assert "/OpenAction" not in pdf.Root
        assert "/AF" not in pdf.Root
        assert "/XFA" not in pdf.Root.AcroForm
        assert "/JavaScript" not in pdf.Root.Names
        assert "/EmbeddedFiles" not in pdf.Root.Names
        assert len(pdf.pages) == 1
        page = pdf.pages[0].obj
        assert "/AA" not in page
        # The web link stays; the script and launch links lose their action; the attached
        # file's annotation is gone.
        annotations = list(page.Annots)
        assert [str(a.Subtype) for a in annotations] == ["/Link", "/Link", "/Link"]
        assert [str(a.A.URI) for a in annotations if "/A" in a] == ["https://clinic.example/"]


def test_a_plain_pdf_keeps_its_page(client_for, patient):
    response = upload(client_for(patient.user), PDF, "labs.pdf", "application/pdf")

    assert response.status_code == 201
    with pikepdf.open(io.BytesIO(stored_bytes(response.json()["id"]))) as pdf:
        assert len(pdf.pages) == 1


def test_a_password_protected_pdf_is_refused(client_for, patient):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="secret"))

    response = upload(client_for(patient.user), out.getvalue(), "labs.pdf", "application/pdf")

    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]["file"][0].lower()
    assert not Attachment.objects.exists()


# --- unsent uploads per user ---------------------------------------------------------------------


@override_settings(CARECORE_MESSAGING_UNSENT_ATTACHMENTS_MAX=3)
def test_a_user_may_keep_only_so_many_uploads_unsent(client_for, patient, other_patient, thread):
    me = client_for(patient.user)
    uploaded = [upload(me, PDF, "a.pdf") for _ in range(3)]
    assert [response.status_code for response in uploaded] == [201, 201, 201]

    refused = upload(me, PDF, "a.pdf")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_unsent_attachments"
    assert Attachment.objects.filter(uploaded_by=patient.user).count() == 3
    # Someone else's uploads do not count against mine, nor mine against theirs.
    assert upload(client_for(other_patient.user), PDF, "a.pdf").status_code == 201

    # Sending one frees its place.
    assert send_with(me, thread, uploaded[0].json()["id"]).status_code == 201
    assert upload(me, PDF, "a.pdf").status_code == 201
    assert upload(me, PDF, "a.pdf").status_code == 409


@pytest.mark.django_db(transaction=True)
@override_settings(CARECORE_MESSAGING_UNSENT_ATTACHMENTS_MAX=2)
def test_the_cap_is_counted_again_under_the_uploaders_lock():
    """An upload that passed the early count waits for the uploader's row lock and counts again:
    while it waited, another upload of the same user took the last place."""
    patient = PatientFactory()
    user = patient.user
    services.attachment_upload(actor=user, upload=ContentFile(PDF, name="a.pdf"))
    locked, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def rival_upload_holding_the_lock() -> None:
        try:
            with transaction.atomic():
                User.objects.select_for_update(no_key=True).filter(pk=user.pk).get()
                Attachment.objects.create(
                    uploaded_by=user,
                    content_type="application/pdf",
                    size=1,
                    sha256="0" * 64,
                    storage_name=f"{uuid.uuid4().hex}.bin",
                )
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def upload() -> None:
        try:
            services.attachment_upload(actor=user, upload=ContentFile(PDF, name="b.pdf"))
            outcome["result"] = "stored"
        except services.TooManyUnsentAttachments:
            outcome["result"] = "refused"
        finally:
            connection.close()

    rival = threading.Thread(target=rival_upload_holding_the_lock)
    rival.start()
    assert locked.wait(timeout=30)
    uploader = threading.Thread(target=upload)
    uploader.start()

    def uploader_waits_for_the_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(cursor.fetchone()[0])

    try:
        # The early count (1 of 2, the rival's row is not committed) let it through to the lock.
        assert wait_until(uploader_waits_for_the_lock, timeout=30)
    finally:
        release.set()
        rival.join(timeout=30)
        uploader.join(timeout=30)

    assert outcome == {"result": "refused"}
    assert Attachment.objects.filter(uploaded_by=user, message__isnull=True).count() == 2
