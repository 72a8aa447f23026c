"""Request body limits: a body over its cap is refused with 413 before it is read or stored.

Layers, each for a path the one before cannot see (docs/security.md, "Request and upload
limits"):

- `BodySizeLimitMiddleware` wraps the ASGI application (uvicorn). It reads the whole body
  before any Django code runs (into a temporary file when large, as Django's ASGI handler did),
  so the cap sits in front of it: a declared Content-Length over the cap is answered at once
  without reading a byte, and a body streamed without one (chunked) is cut off as soon as the
  bytes received cross the cap.
- JSON (and form) bodies: DRF parses them from `request.body`, which checks
  DATA_UPLOAD_MAX_MEMORY_SIZE before reading; its RequestDataTooBig is rendered as 413 by
  carecore.common.errors (it used to leave as a 500).
- `CappedUploadHandler`, first in FILE_UPLOAD_HANDLERS: refuses a multipart body whose declared
  length is over the cap before parsing, and stops reading the moment the files in it cross the
  upload cap (StopUpload with connection_reset: the rest is never read).

The caps: DATA_UPLOAD_MAX_MEMORY_SIZE for any body that is not multipart (JSON, forms);
CARECORE_UPLOAD_MAX_BYTES for each file of a multipart body, and for the whole multipart body
CARECORE_UPLOAD_MAX_FILES such files plus DATA_UPLOAD_MAX_MEMORY_SIZE of fields and framing
(Django itself refuses more than DATA_UPLOAD_MAX_NUMBER_FILES files).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from rest_framework import status

from .errors import ApplicationError, error_body

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PayloadTooLarge(ApplicationError, RequestDataTooBig):
    """413 in the contract's shape. Also a RequestDataTooBig (a SuspiciousOperation), so that
    outside DRF (a server-rendered page reading request.FILES) Django still answers it as a
    client error and never as a 500."""

    code = "payload_too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_message = "The request body is too large."


def json_body_cap() -> int | None:
    """The cap on any body that is not a multipart upload (None: no cap, Django's own switch)."""
    cap: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return cap


def upload_cap() -> int:
    """The largest file a multipart request may carry."""
    return int(settings.CARECORE_UPLOAD_MAX_BYTES)


def multipart_body_cap() -> int:
    """A whole multipart body: the most files, each at the cap, plus the form fields (whose own
    cap is DATA_UPLOAD_MAX_MEMORY_SIZE) and the framing around them."""
    fields = json_body_cap() or 1024 * 1024
    return upload_cap() * int(settings.CARECORE_UPLOAD_MAX_FILES) + fields


def is_multipart(content_type: str) -> bool:
    return content_type.strip().lower().startswith("multipart/form-data")


def body_cap(content_type: str) -> int | None:
    if is_multipart(content_type):
        return multipart_body_cap()
    return json_body_cap()


def too_large(cap: int, *, upload: bool = False) -> PayloadTooLarge:
    if upload:
        return PayloadTooLarge(
            f"The file is too large: files may be at most {cap} bytes.",
            fields={"file": [f"Files may be at most {cap} bytes."]},
        )
    return PayloadTooLarge(f"The request body is too large: at most {cap} bytes are accepted.")


def _declared_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


# --- ASGI: in front of Django's handler ----------------------------------------------------------


class BodySizeLimitMiddleware:
    """Reads an HTTP request's whole body before the application runs, and answers 413 instead
    of running it when the body is over its cap, reading no further than the cap. The response
    says `connection: close`, so uvicorn drops the connection instead of reading (and
    discarding) the rest of the body.

    The application (Django's WSGI handler on a thread pool, carecore/asgi.py) then gets the
    body whole, with its length: a WSGI application reads `CONTENT_LENGTH` bytes, so a body
    sent chunked (no Content-Length) would otherwise read as empty. Bodies over
    FILE_UPLOAD_MAX_MEMORY_SIZE wait in a temporary file, as Django's own ASGI handler kept
    them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        cap = body_cap(headers.get("content-type", ""))
        declared = _declared_length(headers.get("content-length"))
        if cap is not None and declared is not None and declared > cap:
            await _send_too_large(send, cap)
            return
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as body:
            outcome = await _read_body(receive, body, cap)
            if outcome == "too_large":
                await _send_too_large(send, cap or 0)
                return
            if outcome == "disconnected":
                return  # the client went away: nobody to answer
            size = body.tell()
            body.seek(0)
            await self.app(_with_length(scope, size), _replay(body), send)


async def _read_body(receive: Receive, body: IO[bytes], cap: int | None) -> str:
    """Copy the request body into `body`: "complete", "too_large" (stopped at the cap) or
    "disconnected"."""
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return "disconnected"
        chunk = message.get("body", b"")
        received += len(chunk)
        if cap is not None and received > cap:
            return "too_large"
        body.write(chunk)
        if not message.get("more_body", False):
            return "complete"


def _with_length(scope: Scope, size: int) -> Scope:
    kept = [
        (name, value)
        for name, value in scope.get("headers", [])
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    if size or any(name.lower() == b"content-length" for name, _ in scope.get("headers", [])):
        kept.append((b"content-length", str(size).encode()))
    return {**scope, "headers": kept}


REPLAY_CHUNK = 64 * 1024


def _replay(body: IO[bytes]) -> Receive:
    """The body again, as the `http.request` messages an application receives; then, like a
    server whose client is still there, nothing more until it goes (never asked for here)."""
    done = False

    async def receive() -> Message:
        nonlocal done
        if done:
            await asyncio.Event().wait()  # pragma: no cover - a WSGI handler never asks
        chunk = body.read(REPLAY_CHUNK)
        more = len(chunk) == REPLAY_CHUNK and body.tell() < _size(body)
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return receive


def _size(body: IO[bytes]) -> int:
    position = body.tell()
    end = body.seek(0, 2)
    body.seek(position)
    return end


async def _send_too_large(send: Send, cap: int) -> None:
    error = too_large(cap)
    body = json.dumps(error_body(error.code, error.message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


# --- Django: multipart uploads -----------------------------------------------------------------


class CappedUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS. Passes every chunk on to the next handler (memory or
    temporary file) until a file of this request crosses the upload cap, then stops the parser
    without reading the rest of the body and raises PayloadTooLarge once the parser has closed
    the partial files."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.cap = upload_cap()
        self.file_bytes = 0
        self.cut_off = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        if content_length > multipart_body_cap():
            raise too_large(self.cap, upload=True)
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file_bytes = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.file_bytes += len(raw_data)
        if self.file_bytes > self.cap:
            self.cut_off = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def upload_complete(self) -> None:
        # Called after the parser closed the partial files; raising here leaves nothing open.
        if self.cut_off:
            raise too_large(self.cap, upload=True)
