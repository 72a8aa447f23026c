"""The care team sees whose thread it is by name; a patient's own list does not repeat it. Files
go in two steps: upload, then send the ids."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from tests.factories import PatientFactory

from .conftest import open_thread

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"


@pytest.mark.parametrize("actor", ["clinician", "coordinator"])
def test_the_care_team_sees_the_patients_name_on_threads(
    client_for, actors, patient, thread, actor
):
    client = client_for(actors[actor])

    listed = client.get(THREADS).json()["results"]
    detail = client.get(f"{THREADS}{thread.id}/").json()

    assert [item["patient_name"] for item in listed] == [patient.user.full_name]
    assert detail["patient_name"] == patient.user.full_name


def test_a_patient_does_not_get_the_name_field(client_for, patient, thread):
    listed = client_for(patient.user).get(THREADS).json()["results"]

    assert "patient_name" not in listed[0]


@pytest.mark.parametrize("actor", ["other_clinician", "other_patient"])
def test_someone_elses_patient_is_neither_listed_nor_named(
    client_for, actors, patient, thread, actor
):
    client = client_for(actors[actor])

    assert patient.user.full_name not in client.get(THREADS).content.decode()
    assert client.get(f"{THREADS}{thread.id}/").status_code == 404


def test_names_and_previews_cost_one_query_per_page(
    client_for, clinician, patient, django_assert_num_queries
):
    """The page's previews and patients' names are read by one look-up by primary key after the
    page, however many rows (selectors.summary_extras: joined into the page, PostgreSQL hashed
    the whole patient table at a clinic's size)."""
    client = client_for(clinician.user)
    open_thread(patient)
    # the token with its user, the page (the clinician's patients found in it), the page's
    # previews and patients' names, one audit INSERT
    with django_assert_num_queries(4):
        assert len(client.get(THREADS).json()["results"]) == 1
    for _ in range(3):
        open_thread(PatientFactory(state="NY"))
    with django_assert_num_queries(4):
        body = client.get(THREADS).json()
    assert len(body["results"]) == 4
    assert all(item["patient_name"] for item in body["results"])


def test_each_row_gets_its_own_patients_name_and_preview(client_for, clinician, patient, clock):
    """Rows of the same patient and of others, interleaved: each row is named and previewed from
    its own ids (summary_extras answers in the page's order)."""
    other = PatientFactory(state="NY")
    opened = []
    for number, owner in enumerate([patient, other, patient, other, patient]):
        clock.shift(timedelta(seconds=1))
        opened.append((owner, open_thread(owner, body=f"Message number {number}.")))

    listed = client_for(clinician.user).get(THREADS).json()["results"]

    expected = [
        (str(thread.id), owner.user.full_name, f"Message number {number}.")
        for number, (owner, thread) in reversed(list(enumerate(opened)))
    ]
    shown = [(row["id"], row["patient_name"], row["last_message"]["body"]) for row in listed]
    assert shown == expected


def _png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(data, format="PNG")
    data.seek(0)
    data.name = "rash.png"
    return data


def test_a_file_is_uploaded_first_then_sent_by_id(client_for, patient, thread):
    client = client_for(patient.user)

    uploaded = client.post("/api/v1/attachments/", {"file": _png()}, format="multipart")
    assert uploaded.status_code == 201, uploaded.json()
    sent = client.post(
        f"{THREADS}{thread.id}/messages/",
        {"body": "Photo of the rash.", "attachments": [uploaded.json()["id"]]},
        format="json",
    )

    assert sent.status_code == 201, sent.json()
    assert [a["id"] for a in sent.json()["attachments"]] == [uploaded.json()["id"]]


def test_the_schema_says_to_upload_first(anon):
    schema = anon.get("/api/schema/", {"format": "json"}).json()
    upload = schema["paths"]["/api/v1/attachments/"]["post"]["description"]
    send = schema["paths"]["/api/v1/threads/{thread_id}/messages/"]["post"]["description"]

    assert "attachments: [id]" in upload
    assert "/api/v1/attachments/" in send
