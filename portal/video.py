"""Video visit links behind a small provider interface.

A provider turns an appointment into a join URL. The URL must be unique and unguessable and carry
no patient data (it ends up in e-mails and calendar files). The local backend builds one on a
configurable base URL; a real vendor's backend would create a room through its API instead.
"""

from __future__ import annotations

import secrets
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.utils.module_loading import import_string


class VideoProvider(Protocol):
    def create_join_url(self, *, appointment_id: UUID) -> str: ...


class LocalVideoProvider:
    """Random 256-bit room tokens on CARECORE_VIDEO_BASE_URL. The appointment id is not in the
    URL: knowing an appointment id must not let anyone join its visit."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url or settings.CARECORE_VIDEO_BASE_URL

    def create_join_url(self, *, appointment_id: UUID) -> str:
        return f"{self.base_url.rstrip('/')}/{secrets.token_urlsafe(32)}"


def video_provider() -> VideoProvider:
    provider: VideoProvider = import_string(settings.CARECORE_VIDEO_PROVIDER)()
    return provider
