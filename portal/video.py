"""Video visit links behind a small provider interface.

A provider turns an appointment into a room URL when the visit is booked (stored as
`Appointment.join_url`), and the room URL into the link one participant opens
(`participant_join_url`). Both must be unguessable and carry no patient data: the room URL is in
calendar files, the participant link in API responses.

- `LocalVideoProvider` (make run, tests): a random room on CARECORE_VIDEO_BASE_URL; every
  participant gets the room URL itself.
- `JitsiVideoProvider`: a self-hosted Jitsi Meet with JWT authentication (prosody
  `token` auth). Each participant's link carries their own token, valid from
  CARECORE_JITSI_EARLY_JOIN_MINUTES before the start to the end of the visit, for that room
  only; the visit's clinician is the moderator. Without a token the server lets nobody in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from carecore.accounts.access import visit_window_is_open

from .models import AppointmentStatus

if TYPE_CHECKING:
    from carecore.accounts.models import User

    from .models import Appointment


@dataclass(frozen=True)
class VideoParticipant:
    """Who opens the link, and when the visit is. Ids and role words only: no names."""

    user_id: UUID
    moderator: bool
    starts_at: datetime
    ends_at: datetime


class VideoProvider(Protocol):
    def create_join_url(self, *, appointment_id: UUID) -> str: ...

    def participant_join_url(self, *, join_url: str, participant: VideoParticipant) -> str: ...


class LocalVideoProvider:
    """Random 256-bit room tokens on CARECORE_VIDEO_BASE_URL. The appointment id is not in the
    URL: knowing an appointment id must not let anyone join its visit."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url or settings.CARECORE_VIDEO_BASE_URL

    def create_join_url(self, *, appointment_id: UUID) -> str:
        return f"{self.base_url.rstrip('/')}/{secrets.token_urlsafe(32)}"

    def participant_join_url(self, *, join_url: str, participant: VideoParticipant) -> str:
        return join_url


class JitsiVideoProvider:
    """Jitsi Meet rooms with per-participant JWTs (HS256, the app secret shared with prosody).

    The room name is 160 random bits in lowercase hex (Jitsi lower-cases room names), so it is
    unguessable and names nobody. Tokens are minted when a participant asks for the link, with
    fixed validity (early-join time to the visit's end), so asking twice is harmless.
    """

    algorithm = "HS256"

    def __init__(
        self, *, url: str | None = None, app_id: str | None = None, app_secret: str | None = None
    ) -> None:
        self.url = (url or settings.CARECORE_JITSI_URL).rstrip("/")
        self.app_id = app_id or settings.CARECORE_JITSI_APP_ID
        self.app_secret = app_secret or settings.CARECORE_JITSI_APP_SECRET

    def create_join_url(self, *, appointment_id: UUID) -> str:
        return f"{self.url}/{secrets.token_hex(20)}"

    def token(self, *, room: str, participant: VideoParticipant) -> str:
        early = timedelta(minutes=settings.CARECORE_JITSI_EARLY_JOIN_MINUTES)
        claims = {
            "iss": self.app_id,
            "aud": self.app_id,
            "sub": settings.CARECORE_JITSI_SUBJECT or urlsplit(self.url).hostname,
            "room": room,
            "iat": int(timezone.now().timestamp()),
            "nbf": int((participant.starts_at - early).timestamp()),
            "exp": int(participant.ends_at.timestamp()),
            "moderator": participant.moderator,
            "context": {
                "user": {
                    "id": str(participant.user_id),
                    # A role word, not a name: the token sits in a URL.
                    "name": "Clinician" if participant.moderator else "Patient",
                    "moderator": participant.moderator,
                    "affiliation": "owner" if participant.moderator else "member",
                },
            },
        }
        return jwt.encode(claims, self.app_secret, algorithm=self.algorithm)

    def participant_join_url(self, *, join_url: str, participant: VideoParticipant) -> str:
        room = urlsplit(join_url).path.rstrip("/").rsplit("/", 1)[-1]
        return f"{join_url}?{urlencode({'jwt': self.token(room=room, participant=participant)})}"


def video_provider() -> VideoProvider:
    provider: VideoProvider = import_string(settings.CARECORE_VIDEO_PROVIDER)()
    return provider


def join_url_for(appointment: Appointment, viewer: User) -> str | None:
    """The link `viewer` opens to join, or None.

    Only the visit's two participants get a link (their own token where the provider uses
    tokens), and only while the visit is booked and its window is open (24 h before the start
    to 24 h after the end, `visit_window_is_open`). Anyone else who may see the visit
    (schedulers, coordinators, a break-glass reader) gets None: a room URL is a way into the
    visit, and they are not in it."""
    roles = {appointment.patient.user_id: False, appointment.clinician.user_id: True}
    if viewer.id not in roles:
        return None
    if appointment.status != AppointmentStatus.BOOKED:
        return None
    if not visit_window_is_open(appointment.start_at, appointment.end_at):
        return None
    participant = VideoParticipant(
        user_id=viewer.id,
        moderator=roles[viewer.id],
        starts_at=appointment.start_at,
        ends_at=appointment.end_at,
    )
    return video_provider().participant_join_url(
        join_url=appointment.join_url, participant=participant
    )


def calendar_join_url(appointment: Appointment, viewer: User) -> str | None:
    """The room URL for `viewer`'s calendar file: the visit's two participants only (a calendar
    entry is saved ahead of time, so no window applies; with a token provider the room URL
    alone lets nobody in). Anyone else's calendar file carries no link."""
    if viewer.id in (appointment.patient.user_id, appointment.clinician.user_id):
        return appointment.join_url
    return None
