"""Request body caps (carecore/common/body_limits.py): JSON bodies over DATA_UPLOAD_MAX_MEMORY_SIZE
and uploads over CARECORE_UPLOAD_MAX_BYTES get 413 in the contract's error shape, and no more of
the body is read than the cap: checked on Django's WSGI path with a stream that counts what is
read, and on a real uvicorn server with bodies streamed over a socket."""

from __future__ import annotations

import io
import json
import socket
import sys
import uuid
from typing import Any, cast

import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParser
from django.test import override_settings
from django.test.client import ClientHandler

from carecore.accounts.services import token_issue
from carecore.common.body_limits import CappedUploadHandler
from messaging.models import Attachment
from tests.factories import PatientFactory
from tests.servers import running_web

pytestmark = pytest.mark.django_db

UPLOAD = "/api/v1/attachments/"
THREADS = "/api/v1/threads/"
BOUNDARY = "carecore-test-boundary"


def minimal_pdf() -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def multipart_head(name: str = "scan.pdf", content_type: str = "application/pdf") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


MULTIPART_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def multipart_body(payload: bytes) -> bytes:
    return multipart_head() + payload + MULTIPART_TAIL


class CountingStream(io.RawIOBase):
    """A request body that records how many bytes the server took from it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.data[self.taken : self.taken + len(buffer)]
        buffer[: len(chunk)] = chunk
        self.taken += len(chunk)
        return len(chunk)


def wsgi_post(
    path: str, body: CountingStream, content_type: str, token: str
) -> tuple[int, dict[str, Any]]:
    """One POST through Django's WSGI handler (all middleware) with `body` as wsgi.input."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BufferedReader(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body.data)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    response = cast(HttpResponse, ClientHandler(enforce_csrf_checks=False)(environ))
    return response.status_code, json.loads(response.content)


def assert_too_large(status: int, body: dict[str, Any]) -> None:
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert set(body["error"]) == {"code", "message", "fields"}


# --- JSON bodies ---------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_it_refuses_a_json_body_over_the_cap_with_413(client_for, patient):
    body = {"subject": "Rash", "category": "clinical", "body": "x" * 12_000}

    response = client_for(patient.user).post(THREADS, body, format="json")

    assert_too_large(response.status_code, response.json())
    assert "10000 bytes" in response.json()["error"]["message"]
    assert not patient.threads.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_json_body_under_the_cap_is_parsed_as_before(client_for, patient):
    body = {"subject": "Rash", "category": "clinical", "body": "x" * 9_000}

    response = client_for(patient.user).post(THREADS, body, format="json")

    assert response.status_code == 201


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_json_body_over_the_cap_is_not_read(patient):
    body = CountingStream(json.dumps({"body": "x" * 50_000}).encode())

    status, answer = wsgi_post(THREADS, body, "application/json", token_issue(user=patient.user))

    assert_too_large(status, answer)
    assert body.taken == 0


# --- multipart uploads ---------------------------------------------------------------------------


@override_settings(CARECORE_UPLOAD_MAX_BYTES=100_000)
def test_an_upload_declared_over_the_cap_is_refused_before_reading_it(patient):
    body = CountingStream(multipart_body(b"%PDF-1.4\n" + b"0" * 5_000_000))

    status, answer = wsgi_post(
        UPLOAD, body, f"multipart/form-data; boundary={BOUNDARY}", token_issue(user=patient.user)
    )

    assert_too_large(status, answer)
    assert answer["error"]["fields"] == {"file": ["Files may be at most 100000 bytes."]}
    assert body.taken == 0
    assert not Attachment.objects.exists()


@override_settings(CARECORE_UPLOAD_MAX_BYTES=100_000)
def test_the_upload_handler_stops_reading_once_the_file_crosses_the_cap(patient):
    # A declared length within the multipart body cap (10 files at the cap plus the fields), the
    # file itself over the cap: the handler must stop the parser at the chunk that crosses it.
    body = CountingStream(multipart_body(b"%PDF-1.4\n" + b"0" * 165_000))

    status, answer = wsgi_post(
        UPLOAD, body, f"multipart/form-data; boundary={BOUNDARY}", token_issue(user=patient.user)
    )

    assert_too_large(status, answer)
    # The parser reads 64 KiB chunks: it stopped after the second, never reaching the end.
    assert body.taken <= 2 * 64 * 1024 + 1024
    assert body.taken < len(body.data)
    assert not Attachment.objects.exists()


@override_settings(CARECORE_UPLOAD_MAX_BYTES=100_000)
def test_an_upload_under_the_cap_is_stored(patient):
    body = CountingStream(multipart_body(minimal_pdf()))

    status, answer = wsgi_post(
        UPLOAD, body, f"multipart/form-data; boundary={BOUNDARY}", token_issue(user=patient.user)
    )

    assert status == 201, answer
    assert Attachment.objects.filter(pk=answer["id"]).exists()


# --- a real uvicorn server: bodies streamed over a socket ----------------------------------------


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (the server closes the connection after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, value in (line.split(":", 1) for line in lines[1:])
    }
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:  # closed with our unread bytes still in its buffer
        return True


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    return sock


def _request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def web_patient_token(transactional_db: None) -> str:
    patient = PatientFactory()
    return token_issue(user=patient.user)


@pytest.mark.worker
def test_a_real_server_cuts_off_a_streamed_upload_at_the_cap(web_patient_token):
    cap = 200_000
    env = {
        "CARECORE_UPLOAD_MAX_BYTES": str(cap),
        "CARECORE_UPLOAD_MAX_FILES": "1",
        "CARECORE_REQUEST_MAX_BYTES": "50000",
    }
    multipart_cap = cap + 50_000  # one file at the cap plus the fields' cap
    with running_web("body-limits", env=env) as base:
        # 1. Chunked (no Content-Length): the body is cut off once it crosses the cap, and the
        # 413 arrives while the client has not finished sending (it never does).
        with _connect(base) as sock:
            sock.sendall(
                _request_head(
                    "POST",
                    UPLOAD,
                    {
                        "Authorization": f"Bearer {web_patient_token}",
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "Transfer-Encoding": "chunked",
                    },
                )
            )
            sent = 0
            first = multipart_head() + b"%PDF-1.4\n"
            chunk = first + b"0" * (32 * 1024 - len(first))
            # Just past the multipart body cap, then nothing more.
            while sent <= multipart_cap:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                chunk = b"0" * (32 * 1024)
            status, headers, body = _read_response(sock)
            assert status == 413
            assert headers["connection"] == "close"
            assert json.loads(body)["error"]["code"] == "payload_too_large"
            # The server closed the connection rather than wait for the rest.
            assert _closed_by_server(sock)

        # 2. A declared length over the cap: 413 at once, no byte of the body sent.
        with _connect(base) as sock:
            sock.sendall(
                _request_head(
                    "POST",
                    UPLOAD,
                    {
                        "Authorization": f"Bearer {web_patient_token}",
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "Content-Length": str(50 * 1024 * 1024),
                    },
                )
            )
            status, headers, body = _read_response(sock)
            assert status == 413
            assert json.loads(body)["error"]["code"] == "payload_too_large"

        # 3. JSON over its own (smaller) cap, declared: the same, before authentication.
        with _connect(base) as sock:
            sock.sendall(
                _request_head(
                    "POST",
                    THREADS,
                    {"Content-Type": "application/json", "Content-Length": "60000"},
                )
            )
            status, _headers, body = _read_response(sock)
            assert status == 413

        # 4. An upload within the cap still goes through the same server.
        pdf = minimal_pdf()
        payload = multipart_body(pdf)
        with _connect(base) as sock:
            sock.sendall(
                _request_head(
                    "POST",
                    UPLOAD,
                    {
                        "Authorization": f"Bearer {web_patient_token}",
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "Content-Length": str(len(payload)),
                        "Connection": "close",
                    },
                )
                + payload
            )
            status, _headers, body = _read_response(sock)
            assert status == 201, body
            assert uuid.UUID(json.loads(body)["id"])

        # 5. A JSON body under its cap sent chunked (no Content-Length) reaches Django whole:
        # Django's WSGI handler reads CONTENT_LENGTH bytes, which the server now supplies.
        message = json.dumps(
            {"subject": "Sent in chunks", "category": "clinical", "body": "Hello " * 50}
        ).encode()
        with _connect(base) as sock:
            sock.sendall(
                _request_head(
                    "POST",
                    THREADS,
                    {
                        "Authorization": f"Bearer {web_patient_token}",
                        "Content-Type": "application/json",
                        "Transfer-Encoding": "chunked",
                        "Connection": "close",
                    },
                )
            )
            for start in range(0, len(message), 100):
                piece = message[start : start + 100]
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
            status, _headers, body = _read_response(sock)
            assert status == 201, body
            assert json.loads(body)["subject"] == "Sent in chunks"


@override_settings(CARECORE_UPLOAD_MAX_BYTES=100_000)
def test_several_files_each_under_the_cap_pass_the_handler_together():
    """A patient page sends a message's photos in one form: the cap is per file."""
    files = [("a.pdf", b"1" * 90_000), ("b.pdf", b"2" * 90_000)]
    data = (
        b"".join(multipart_head(name) + payload + b"\r\n" for name, payload in files)
        + f"--{BOUNDARY}--\r\n".encode()
    )
    handlers = [
        CappedUploadHandler(),
        MemoryFileUploadHandler(),
        TemporaryFileUploadHandler(),
    ]
    meta = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(len(data)),
    }

    _fields, parsed = MultiPartParser(meta, io.BytesIO(data), handlers).parse()

    assert [upload.size for upload in parsed.getlist("file")] == [90_000, 90_000]


def test_more_files_than_a_message_may_carry_is_a_400_not_a_500(patient):
    data = b"".join(multipart_head(f"{n}.pdf") + b"%PDF-1.4\r\n" for n in range(11))
    body = CountingStream(data + f"--{BOUNDARY}--\r\n".encode())

    status, answer = wsgi_post(
        UPLOAD, body, f"multipart/form-data; boundary={BOUNDARY}", token_issue(user=patient.user)
    )

    assert status == 400
    assert answer["error"]["code"] == "validation_error"
    assert not Attachment.objects.exists()
