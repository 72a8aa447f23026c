"""The BOLA matrix: every URL with an object id, as every role, on their own patient's object, on
another patient's, and on a missing one, for every method the route allows.

The routes come from the URLconf (walked as `test_url_auth_walk.py` walks it, keyed by URL name
with its namespace, e.g. "patient_web:thread"), FHIR read routes are expanded per resource type
(`interop.record.SPECS`), and each one must have an entry in
`OBJECT_ROUTES` (a builder that makes the object for a given side, and the access rule that says
who sees it) or in `NOT_PATIENT_OBJECTS` (with the reason). A new route with an id and neither
entry fails `test_every_route_with_an_id_has_an_entry` naming the route. Adding a route is one
line, e.g.:

    "appointment-notes": Entry(appointment, SCHEDULING),

What "own" and "other" mean for each role (the fixed actors of tests/conftest.py):
- patient: own = their record; other = another patient's.
- clinician, coordinator: own = a patient on their care team; other = a patient of another team.
- scheduler, admin: no care team (admins read only under a break-glass grant, which this matrix
  does not hold): own and other are two patients they have no relation to.
- objects that belong to a user (notifications, push subscriptions, availability, bulk exports):
  own = the caller's (or, for a role that has none, the care team's clinician's); other = the
  same object of another user of the same kind.

The verdicts (for the caller's own object; another's and a missing one follow from it):
- SEE: the route answers about the object (any status but 401/403/404 and 5xx: a write may
  still be a 400 or a 409 for its own reasons). Another patient's object: 404.
- SEE_ALL: the role sees every patient's object by design (schedulers: visits, schedules,
  demographics; break-glass: any patient). Another patient's object: seen too.
- READ_ONLY: 403 on the caller's own object (they may read it, not do this); another patient's:
  404, so the 403 tells only what the caller may already read.
- NO_ROUTE: 403 `permission_denied` whatever the id (the role never uses this route): own,
  another's and a missing object all get the same answer, which tells nothing.
- HIDDEN: 404 for every object.
A missing object (a fresh uuid) is always 404 (403 for NO_ROUTE), and another patient's object
must get exactly the answer a missing one gets unless the verdict is SEE_ALL: that is the BOLA
property itself, checked for every route, method and role.

Every request runs in a savepoint rolled back after it, so a cancel or a publish does not change
what the next request sees.
"""

from __future__ import annotations

import enum
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from PIL import Image
from rest_framework.test import APIClient
from rest_framework.views import APIView

from carecore.accounts import services as account_services
from carecore.accounts.models import (
    BreakGlassGrant,
    CareTeamMember,
    Clinician,
    Patient,
    Role,
    User,
)
from carecore.notifications import services as notification_services
from carecore.notifications.models import Channel, Event, Notification
from careplans import services as careplans
from intake import services as intake
from intake.models import IntakeReview
from interop import export
from interop.record import SPECS
from messaging import services as messaging
from portal import services as portal
from tests.factories import ClinicianFactory, PatientFactory, UserFactory
from tests.intake.test_intake_apis import healthy_intake, poem
from tests.portal.conftest import NEW_YORK, at, give_availability

pytestmark = pytest.mark.django_db

ROLES = ("patient", "clinician", "coordinator", "scheduler", "admin")
Side = Literal["own", "other"]
SIDES: tuple[Side, ...] = ("own", "other")

# Wednesday 2026-06-10 10:00 in New York: care-team hours, and tomorrow's visits are bookable.
NOW = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
TOMORROW = NOW.astimezone(NEW_YORK).date() + timedelta(days=1)


class Verdict(enum.StrEnum):
    SEE = "see"
    SEE_ALL = "see_all"
    READ_ONLY = "read_only"
    NO_ROUTE = "no_route"
    HIDDEN = "hidden"


SEE, SEE_ALL, READ_ONLY, NO_ROUTE, HIDDEN = Verdict


# --- the world: two patients (on two care teams) with one of everything --------------------------


@dataclass
class World:
    """The fixed actors plus, made on first use, one object of each kind per side."""

    actors: dict[str, User]
    patients: dict[Side, Patient]
    clinicians: dict[Side, Clinician]
    built: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, APIClient] = field(default_factory=dict)
    others: dict[str, User] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.built:
            self.built[key] = make()
        return self.built[key]

    def patient(self, side: Side) -> Patient:
        return self.patients[side]

    def lead(self, side: Side) -> Clinician:
        return self.clinicians[side]

    def user(self, role: str, side: Side) -> User:
        """The caller (own), or another user of the same role (other)."""
        if side == "own":
            return self.actors[role]
        if role not in self.others:
            if role == "patient":
                self.others[role] = self.patients["other"].user
            elif role == "clinician":
                self.others[role] = self.clinicians["other"].user
            else:
                self.others[role] = UserFactory(
                    role=role, email=f"other-{role}@example.test", is_staff=True
                )
        return self.others[role]


Builder = Callable[[World, str, Side], dict[str, str]]
"""Makes (once) the object of `side` as seen by `role`; returns the URL's keyword arguments."""


def patient(world: World, role: str, side: Side) -> dict[str, str]:
    return {"patient_id": str(world.patient(side).id)}


def _intake_done(world: World, side: Side) -> Any:
    """The side's patient completed the intake questionnaire (drafting a plan needs one)."""

    def make() -> Any:
        world.once("questionnaires", lambda: call_command("sync_questionnaires", verbosity=0))
        return intake.response_create(
            user=world.patient(side).user,
            slug="gut-skin-intake",
            answers=healthy_intake(),
            status="completed",
        )

    return world.once(f"intake-{side}", make)


def questionnaire_response(world: World, role: str, side: Side) -> dict[str, str]:
    def make() -> Any:
        world.once("questionnaires", lambda: call_command("sync_questionnaires", verbosity=0))
        return intake.response_create(
            user=world.patient(side).user,
            slug="poem",
            answers=poem(2, 2, 2, 2, 2, 2, 2),
            status="completed",
        )

    return {"response_id": str(world.once(f"poem-{side}", make).id)}


def intake_review(world: World, role: str, side: Side) -> dict[str, str]:
    review = IntakeReview.objects.get(response=_intake_done(world, side))
    return {"review_id": str(review.id)}


def _published_plan(world: World, side: Side) -> Any:
    def make() -> Any:
        _intake_done(world, side)
        lead = world.lead(side).user
        plan = careplans.care_plan_draft(user=lead, patient_id=world.patient(side).id)
        return careplans.care_plan_publish(user=lead, plan_id=plan.id)

    return world.once(f"plan-{side}", make)


def care_plan(world: World, role: str, side: Side) -> dict[str, str]:
    return {"plan_id": str(_published_plan(world, side).id)}


def _appointment(world: World, side: Side) -> Any:
    def make() -> Any:
        lead = world.lead(side)
        give_availability(lead)
        return portal.appointment_book(
            actor=world.patient(side).user,
            patient_id=world.patient(side).id,
            clinician_id=lead.id,
            start=at(TOMORROW, 10, zone=NEW_YORK),
            visit_type="new",
            reason="Itchy rash on both elbows",
        )

    return world.once(f"appointment-{side}", make)


def appointment(world: World, role: str, side: Side) -> dict[str, str]:
    return {"appointment_id": str(_appointment(world, side).id)}


def break_glass_grant(world: World, role: str, side: Side) -> dict[str, str]:
    """Emergency access to the side's patient, held by a clinician who is none of the actors
    (so no actor's access to any other object changes)."""

    def make() -> Any:
        holder = world.once(
            "break-glass-holder",
            lambda: ClinicianFactory(
                user__email="break-glass-holder@example.test", licensed_states=["TX"]
            ),
        )
        return BreakGlassGrant.objects.create(
            user=holder.user,
            patient=world.patient(side),
            reason="Covering the on-call line tonight, the team is unreachable.",
            expires_at=NOW + timedelta(hours=1),
        )

    return {"grant_id": str(world.once(f"grant-{side}", make).id)}


def _thread(world: World, side: Side) -> Any:
    def make() -> Any:
        return messaging.thread_open(
            actor=world.patient(side).user,
            subject="Flare on my arms",
            category="clinical",
            body="My eczema is itchy again.",
        )

    return world.once(f"thread-{side}", make)


def thread(world: World, role: str, side: Side) -> dict[str, str]:
    return {"thread_id": str(_thread(world, side).thread.id)}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 90)).save(out, format="PNG")
    return out.getvalue()


def attachment(world: World, role: str, side: Side) -> dict[str, str]:
    """A photo the side's patient sent in their thread."""

    def make() -> Any:
        sender = world.patient(side).user
        upload = messaging.attachment_upload(
            actor=sender, upload=SimpleUploadedFile("rash.png", _png(), content_type="image/png")
        )
        messaging.message_send(
            actor=sender,
            thread_id=_thread(world, side).thread.id,
            body="A photo of the rash",
            attachment_ids=[upload.id],
        )
        return upload

    return {"attachment_id": str(world.once(f"attachment-{side}", make).id)}


def _owner(world: World, role: str, side: Side) -> User:
    """A user-owned object's owner: the caller's own, or another user's of the same role."""
    return world.user(role, side)


def notification(world: World, role: str, side: Side) -> dict[str, str]:
    owner = _owner(world, role, side)

    def make() -> Notification:
        notification_services.notify(
            event=Event.MESSAGE_RECEIVED,
            recipients=[owner],
            subject_type="thread",
            subject_id=uuid.uuid4(),
        )
        return Notification.objects.filter(recipient=owner, channel=Channel.IN_APP).latest(
            "created_at"
        )

    return {"notification_id": str(world.once(f"notification-{owner.pk}", make).id)}


def push_subscription(world: World, role: str, side: Side) -> dict[str, str]:
    owner = _owner(world, role, side)

    def make() -> Any:
        import base64

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        return notification_services.push_subscription_register(
            user=owner,
            endpoint=f"https://fcm.googleapis.com/fcm/send/{owner.pk}",
            p256dh=b64(b"\x04" + bytes(range(64))),
            auth=b64(bytes(range(16))),
        )

    return {"subscription_id": str(world.once(f"push-{owner.pk}", make).id)}


def _clinician_of(world: World, role: str, side: Side) -> Clinician:
    """A clinician's own schedule (own) or another clinician's (other). For the other roles,
    the care team's clinician (own) and a clinician of another team (other)."""
    if role == "clinician":
        return world.clinicians["own" if side == "own" else "other"]
    return world.lead(side)


def clinician_availability(world: World, role: str, side: Side) -> dict[str, str]:
    return {"clinician_id": str(_clinician_of(world, role, side).id)}


def availability_rule(world: World, role: str, side: Side) -> dict[str, str]:
    clinician = _clinician_of(world, role, side)

    def make() -> Any:
        from datetime import time

        return portal.availability_rule_create(
            actor=None,
            clinician=clinician,
            weekday=2,
            start_time=time(9),
            end_time=time(12),
            visit_types=["new"],
        )

    rule = world.once(f"rule-{clinician.pk}", make)
    return {"clinician_id": str(clinician.id), "rule_id": str(rule.id)}


def time_off(world: World, role: str, side: Side) -> dict[str, str]:
    clinician = _clinician_of(world, role, side)

    def make() -> Any:
        return portal.time_off_create(
            actor=None,
            clinician=clinician,
            starts_at=NOW + timedelta(days=20),
            ends_at=NOW + timedelta(days=21),
        )

    off = world.once(f"time-off-{clinician.pk}", make)
    return {"clinician_id": str(clinician.id), "time_off_id": str(off.id)}


def _export_job(world: World, role: str, side: Side) -> Any:
    """An admin's finished bulk export: the caller's own (an admin) or another admin's."""
    owner = world.user("admin", side if role == "admin" else "other")

    def make() -> Any:
        job = export.export_start(
            user=owner, types=["Patient"], since=None, request_url="http://testserver/"
        )
        export.export_run(job_id=job.id)
        return job

    return world.once(f"export-{owner.pk}", make)


def export_job(world: World, role: str, side: Side) -> dict[str, str]:
    return {"job_id": str(_export_job(world, role, side).id)}


def export_file(world: World, role: str, side: Side) -> dict[str, str]:
    return {"job_id": str(_export_job(world, role, side).id), "name": "Patient.ndjson"}


# FHIR ids of each patient-compartment type.
def _fhir(kind: str, make_id: Callable[[World, Side], str]) -> Builder:
    def build(world: World, role: str, side: Side) -> dict[str, str]:
        return {"type_name": kind, "resource_id": make_id(world, side)}

    return build


def _first_goal(world: World, side: Side) -> str:
    goal = _published_plan(world, side).goals.first()
    assert goal is not None, "the drafted plan has no goal"
    return str(goal.id)


FHIR_PATIENT = _fhir("Patient", lambda world, side: str(world.patient(side).id))
FHIR_CARE_TEAM = _fhir("CareTeam", lambda world, side: str(world.patient(side).care_team.id))
FHIR_APPOINTMENT = _fhir("Appointment", lambda world, side: str(_appointment(world, side).id))
FHIR_RESPONSE = _fhir(
    "QuestionnaireResponse",
    lambda world, side: questionnaire_response(world, "patient", side)["response_id"],
)
FHIR_OBSERVATION = _fhir(
    "Observation",
    lambda world, side: questionnaire_response(world, "patient", side)["response_id"] + "-poem",
)
FHIR_CARE_PLAN = _fhir("CarePlan", lambda world, side: str(_published_plan(world, side).id))
FHIR_GOAL = _fhir("Goal", _first_goal)
FHIR_EVERYTHING = _fhir("Patient", lambda world, side: str(world.patient(side).id))
FHIR_COMMUNICATION = _fhir(
    "Communication", lambda world, side: str(_thread(world, side).send.message.id)
)


# --- access rules: who sees whose object --------------------------------------------------------


def rule(
    patient: Verdict, clinician: Verdict, coordinator: Verdict, scheduler: Verdict, admin: Verdict
) -> dict[str, Verdict]:
    return {
        "patient": patient,
        "clinician": clinician,
        "coordinator": coordinator,
        "scheduler": scheduler,
        "admin": admin,
    }


# Clinical data: the patient and their care team; schedulers never (by role), admins only under
# a break-glass grant.
CLINICAL = rule(SEE, SEE, SEE, NO_ROUTE, HIDDEN)
# Demographics and visits: the patient, the care team, and the front desk (every patient's).
SCHEDULING = rule(SEE, SEE, SEE, SEE_ALL, HIDDEN)
# Staff work on a patient's record that every care-team member may do.
CARE_TEAM_WORK = rule(NO_ROUTE, SEE, SEE, NO_ROUTE, HIDDEN)
# Clinicians' work (drafting, publishing, completing reviews): coordinators read, never act.
CLINICIAN_WORK = rule(NO_ROUTE, SEE, NO_ROUTE, NO_ROUTE, NO_ROUTE)
# A thread's workflow (assign, close, reopen): the care team.
THREAD_WORK = rule(NO_ROUTE, SEE, SEE, NO_ROUTE, NO_ROUTE)
# A clinician's schedule: the clinician, and schedulers for every clinician.
SCHEDULE = rule(NO_ROUTE, SEE, NO_ROUTE, SEE_ALL, NO_ROUTE)
# A user's own things (notifications, push subscriptions): every role, own only.
OWN_ONLY = rule(SEE, SEE, SEE, SEE, SEE)
# The patient portal's pages: patients, their own things; staff are refused whatever the id.
PATIENT_PAGE = rule(SEE, NO_ROUTE, NO_ROUTE, NO_ROUTE, NO_ROUTE)
# The care-team workspace's pages (staff_web/): clinicians and coordinators, their patients'
# things; patients, schedulers and admins are refused whatever the id.
STAFF_PAGE = rule(NO_ROUTE, SEE, SEE, NO_ROUTE, NO_ROUTE)
# The care-plan editor's pages: the care team reads (schedulers get the 404 a missing plan gets,
# never the workspace's 403 page: clinical data); clinicians change, coordinators only read.
PLAN_PAGE = rule(NO_ROUTE, SEE, SEE, HIDDEN, NO_ROUTE)
PLAN_PAGE_WRITES = rule(NO_ROUTE, SEE, READ_ONLY, HIDDEN, NO_ROUTE)
# The workspace's schedule pages on a visit (the visit itself, move, cancel): the care team for
# their patients, schedulers for every patient; patients and admins are refused whatever the id.
SCHEDULE_PAGE = rule(NO_ROUTE, SEE, SEE, SEE_ALL, NO_ROUTE)
# A clinician's hours and time off in the workspace: as the API's SCHEDULE.
AVAILABILITY_PAGE = SCHEDULE
# The pre-visit summary page: the care team; a scheduler gets the 404 of a missing visit (never
# clinical data); patients and admins are refused whatever the id.
SUMMARY_PAGE = rule(NO_ROUTE, SEE, SEE, HIDDEN, NO_ROUTE)
# Bulk exports: admins only, each admin their own jobs.
ADMIN_OWN = rule(NO_ROUTE, NO_ROUTE, NO_ROUTE, NO_ROUTE, SEE)

Body = Callable[[World, str, Side], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    """One route: how to make its object, and who sees whose.

    `methods` overrides the rule for some methods (method -> role -> verdict). `body` gives a
    valid body per method, so that a write reaches the access check rather than stopping at
    validation (which answers the same whoever's the object, and so would prove nothing);
    `query` likewise for a required query string.
    """

    build: Builder
    rule: Mapping[str, Verdict]
    methods: Mapping[str, Mapping[str, Verdict]] = field(default_factory=dict)
    body: Mapping[str, Body] = field(default_factory=dict)
    query: Callable[[World, str, Side], str] | None = None

    def verdict(self, role: str, method: str) -> Verdict:
        return self.methods.get(method, {}).get(role, self.rule[role])


def expected(verdict: Verdict, case: str) -> str:
    """What a caller with `verdict` on their own object gets on `case` (own, other, missing):
    a status, or "see" for any answer about the object."""
    if verdict == NO_ROUTE:
        return "403"
    if case == "missing" or verdict == HIDDEN:
        return "404"
    if case == "own":
        return "403" if verdict == READ_ONLY else "see"
    return "see" if verdict == SEE_ALL else "404"


def _fixed(body: dict[str, Any]) -> Body:
    return lambda world, role, side: body


def _reschedule(world: World, role: str, side: Side) -> dict[str, Any]:
    return {"start": at(TOMORROW, 15, zone=NEW_YORK).isoformat()}


def _slot(world: World, role: str, side: Side) -> dict[str, Any]:
    """The portal's slot choice: "<clinician id>|<start>"."""
    return {"slot": f"{world.lead(side).id}|{at(TOMORROW, 15, zone=NEW_YORK).isoformat()}"}


def _care_team(world: World, role: str, side: Side) -> dict[str, Any]:
    return {"lead": str(world.lead(side).id), "members": []}


def _against(world: World, role: str, side: Side) -> str:
    return f"?against={care_plan(world, role, side)['plan_id']}"


READ_ONLY_WRITES = rule(READ_ONLY, SEE, READ_ONLY, NO_ROUTE, HIDDEN)

OBJECT_ROUTES: dict[str, Entry] = {
    # carecore.accounts
    "patient-detail": Entry(patient, SCHEDULING),
    "patient-care-team": Entry(
        patient, rule(NO_ROUTE, SEE, NO_ROUTE, NO_ROUTE, SEE_ALL), body={"put": _care_team}
    ),
    # Break-glass is for a patient outside one's care team: any patient, by design.
    "patient-break-glass": Entry(
        patient,
        rule(NO_ROUTE, SEE_ALL, NO_ROUTE, NO_ROUTE, SEE_ALL),
        body={"post": _fixed({"reason": "Covering the on-call clinician for this patient"})},
    ),
    # intake
    "questionnaire-response-detail": Entry(
        questionnaire_response,
        CLINICAL,
        methods={"patch": {"clinician": READ_ONLY, "coordinator": READ_ONLY}},
    ),
    "intake-review-detail": Entry(intake_review, CARE_TEAM_WORK),
    "intake-review-complete": Entry(intake_review, CLINICIAN_WORK),
    # careplans
    "patient-care-plan-draft": Entry(patient, CLINICIAN_WORK),
    "care-plan-detail": Entry(
        care_plan, CLINICAL, methods={"patch": READ_ONLY_WRITES, "delete": READ_ONLY_WRITES}
    ),
    "care-plan-publish": Entry(care_plan, READ_ONLY_WRITES),
    "care-plan-diff": Entry(care_plan, CLINICAL, query=_against),
    "patient-measures": Entry(patient, CLINICAL, query=lambda *_: "?instrument=poem"),
    "appointment-previsit-summary": Entry(appointment, CARE_TEAM_WORK),
    # portal
    "clinician-availability": Entry(
        clinician_availability,
        SCHEDULE,
        body={
            "post": _fixed(
                {"kind": "rule", "weekday": 0, "start": "09:00", "end": "12:00"}
                | {"visit_types": ["new"]}
            )
        },
    ),
    "clinician-availability-rule": Entry(availability_rule, SCHEDULE),
    "clinician-time-off": Entry(time_off, SCHEDULE),
    "appointment-detail": Entry(appointment, SCHEDULING),
    "appointment-cancel": Entry(appointment, SCHEDULING),
    "appointment-reschedule": Entry(appointment, SCHEDULING, body={"post": _reschedule}),
    "appointment-ics": Entry(appointment, SCHEDULING),
    # carecore.notifications
    "notification-read": Entry(notification, OWN_ONLY),
    "push-subscription-detail": Entry(push_subscription, OWN_ONLY),
    # messaging
    "thread-detail": Entry(thread, CLINICAL),
    "thread-messages": Entry(
        thread,
        CLINICAL,
        methods={"post": {"admin": NO_ROUTE}},
        body={"post": _fixed({"body": "Thank you, that helps."})},
    ),
    "thread-read": Entry(thread, rule(SEE, SEE, SEE, NO_ROUTE, NO_ROUTE)),
    "thread-assign": Entry(thread, THREAD_WORK, body={"post": _fixed({"assignee": None})}),
    "thread-close": Entry(thread, THREAD_WORK),
    "thread-reopen": Entry(thread, THREAD_WORK),
    "attachment-detail": Entry(attachment, CLINICAL),
    # patient_web (the patient portal's pages): patients only, their own threads
    "patient_web:thread": Entry(
        thread, PATIENT_PAGE, body={"post": _fixed({"body": "Thank you, that helps."})}
    ),
    "patient_web:thread-updates": Entry(thread, PATIENT_PAGE),
    "patient_web:visit": Entry(appointment, PATIENT_PAGE),
    "patient_web:visit-calendar": Entry(appointment, PATIENT_PAGE),
    "patient_web:visit-cancel": Entry(appointment, PATIENT_PAGE),
    "patient_web:visit-reschedule": Entry(appointment, PATIENT_PAGE, body={"post": _slot}),
    "patient_web:questionnaire-done": Entry(questionnaire_response, PATIENT_PAGE),
    # staff_web (the care-team workspace's pages): the care team, their patients' threads
    "staff_web:thread": Entry(
        thread,
        STAFF_PAGE,
        body={"post": _fixed({"action": "note", "note-body": "Checked.", "note-client_id": "m"})},
    ),
    "staff_web:thread-updates": Entry(thread, STAFF_PAGE),
    # Break-glass from an escalation: nobody here was called in on one, so the team is sent to
    # the thread it reads and another team's staff get the 404 (whatever the reason says).
    "staff_web:thread-break-glass": Entry(
        thread,
        STAFF_PAGE,
        body={"post": _fixed({"reason": "Called in on the overdue thread, team unreachable."})},
    ),
    "staff_web:thread-claim": Entry(thread, STAFF_PAGE),
    "staff_web:thread-release": Entry(thread, STAFF_PAGE),
    "staff_web:thread-assign": Entry(thread, STAFF_PAGE, body={"post": _fixed({"assignee": ""})}),
    "staff_web:thread-close": Entry(thread, STAFF_PAGE),
    "staff_web:thread-reopen": Entry(thread, STAFF_PAGE),
    # A coordinator's complete is refused on the page itself (200 with the service's message).
    "staff_web:review": Entry(intake_review, STAFF_PAGE, body={"post": _fixed({"note": ""})}),
    # Break-glass from an escalated red-flag page: nobody here was called in on one, so the team
    # is sent to the review it reads and another team's staff get the 404 (whatever the reason).
    "staff_web:review-break-glass": Entry(
        intake_review,
        STAFF_PAGE,
        body={
            "post": _fixed({"reason": "Called in on the unanswered red flag, team unreachable."})
        },
    ),
    # The care-plan editor: POST on the patient's page drafts; the world's plans are published,
    # so a clinician's edit or discard is a 409 about the plan (seen), a coordinator's a 403.
    "staff_web:care_plan": Entry(patient, PLAN_PAGE, methods={"post": PLAN_PAGE_WRITES}),
    "staff_web:care_plan_compare": Entry(patient, PLAN_PAGE),
    "staff_web:care_plan_version": Entry(care_plan, PLAN_PAGE),
    "staff_web:care_plan_edit": Entry(care_plan, PLAN_PAGE_WRITES),
    "staff_web:care_plan_discard": Entry(care_plan, PLAN_PAGE_WRITES),
    # staff_web's schedule (schedule_pages.py)
    "staff_web:schedule-availability": Entry(clinician_availability, AVAILABILITY_PAGE),
    "staff_web:schedule-rule-delete": Entry(availability_rule, AVAILABILITY_PAGE),
    "staff_web:schedule-time-off-delete": Entry(time_off, AVAILABILITY_PAGE),
    "staff_web:schedule-reschedule": Entry(appointment, SCHEDULE_PAGE, body={"post": _slot}),
    "staff_web:schedule-cancel": Entry(appointment, SCHEDULE_PAGE),
    "staff_web:visit": Entry(appointment, SCHEDULE_PAGE),
    "staff_web:visit_summary": Entry(appointment, SUMMARY_PAGE),
    # The patient chart: clinical, so a scheduler's answer is the 404 of a patient who does not
    # exist (access_patient refuses them), not the workspace's 403 (docs/web-portal.md).
    "staff_web:patient": Entry(patient, rule(NO_ROUTE, SEE, SEE, HIDDEN, NO_ROUTE)),
    # A break-glass grant: the patient's care team reviews it; admins in the admin site.
    "staff_web:break_glass_grant": Entry(break_glass_grant, STAFF_PAGE),
    # interop (FHIR): reads per resource type, $everything, bulk export
    "fhir-read:Patient": Entry(FHIR_PATIENT, SCHEDULING),
    "fhir-read:CareTeam": Entry(FHIR_CARE_TEAM, SCHEDULING),
    "fhir-read:Appointment": Entry(FHIR_APPOINTMENT, SCHEDULING),
    "fhir-read:QuestionnaireResponse": Entry(FHIR_RESPONSE, CLINICAL),
    "fhir-read:Observation": Entry(FHIR_OBSERVATION, CLINICAL),
    "fhir-read:CarePlan": Entry(FHIR_CARE_PLAN, CLINICAL),
    "fhir-read:Goal": Entry(FHIR_GOAL, CLINICAL),
    "fhir-read:Communication": Entry(FHIR_COMMUNICATION, CLINICAL),
    "fhir-everything": Entry(FHIR_EVERYTHING, SCHEDULING),
    "fhir-export-status": Entry(export_job, ADMIN_OWN),
    "fhir-export-file": Entry(export_file, ADMIN_OWN),
}

# Routes with a parameter that names no patient's or user's object, and why.
NOT_PATIENT_OBJECTS: dict[str, str] = {
    "questionnaire-detail": "published questionnaire definitions, the same for everyone",
    "patient_web:questionnaire": "a published questionnaire's form, the same for every patient",
    "patient_web:password-reset-confirm": "a signed one-time link from the reset e-mail: the "
    "token is the secret, checked by Django's PasswordResetConfirmView",
    "fhir-search": "the parameter is a resource type, not an object",
    "previsit-summary-moved": "the pre-visit summary's old path: redirects any id to "
    "staff_web:visit_summary (whose entry checks access) after the schedule pages' role guard",
    "review-moved": "an intake review's old path: redirects any id to staff_web:review (whose "
    "entry checks access) after the workspace's care-team guard",
    "break-glass-moved": "the path lead clinicians' break-glass notices named before the page "
    "existed: redirects any id to staff_web:break_glass_grant (whose entry checks access) after "
    "the workspace's care-team guard",
    "fhir-read:Practitioner": "public clinician profiles (GET /api/v1/clinicians/ lists them)",
    "fhir-read:Questionnaire": "published questionnaire definitions, the same for everyone",
}


# --- the walk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # the URL name, or "fhir-read:<Type>" for the FHIR read of one type
    template: str  # the path, with {kwarg} where the URL takes one
    methods: tuple[str, ...]
    api: bool  # DRF (JSON bodies) or a page (form bodies)


_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def _piece(pattern: RoutePattern | RegexPattern | Any) -> str:
    """One pattern of the URLconf as a template piece: `<uuid:x_id>` and `(?P<x_id>..)` become
    `{x_id}`; a regex's anchors and escapes go."""
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        return _CONVERTER.sub(r"{\1}", text)
    text = _GROUP.sub(r"{\1}", text).removeprefix("^").removesuffix("$")
    return re.sub(r"\\(.)", r"\1", text)


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    """(path template, namespace, pattern) for every URL pattern."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + _piece(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + _piece(entry.pattern), namespace, entry


def _methods(pattern: URLPattern) -> tuple[str, ...]:
    view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    if view is None:
        # A function view: what its decorators allow is not discoverable. GET and POST are
        # tried; a method that answers 405 for every object is one the view does not allow.
        return ("get", "post")
    return tuple(
        method
        for method in ("get", "post", "put", "patch", "delete")
        if hasattr(view, method) and method in getattr(view, "http_method_names", [])
    )


def object_routes() -> Iterator[Route]:
    """Every URL pattern that takes a parameter, API, FHIR and pages alike (the Django admin
    excepted: staff only, behind MFA, audited and tested in tests/accounts/test_staff_admin.py).
    The FHIR read is one route per resource type."""
    for path, namespace, pattern in _walk(get_resolver().url_patterns):
        if path.startswith("admin/") or "{" not in path:
            continue
        template, methods = "/" + path, _methods(pattern)
        view = getattr(pattern.callback, "cls", None)
        api = isinstance(view, type) and issubclass(view, APIView)
        if pattern.name == "fhir-read":
            for type_name in SPECS:
                yield Route(f"fhir-read:{type_name}", template, methods, api)
            continue
        key = f"{namespace}{pattern.name}" if pattern.name else template
        yield Route(key, template, methods, api)


def _routes_by_key() -> dict[str, Route]:
    return {route.key: route for route in object_routes()}


# --- the tests ----------------------------------------------------------------------------------


def test_the_walk_finds_the_object_routes() -> None:
    routes = _routes_by_key()
    assert routes["patient-detail"].template == "/api/v1/patients/{patient_id}/"
    assert routes["fhir-everything"].template == "/fhir/R4/Patient/{resource_id}/$everything"
    assert routes["fhir-read:Observation"].template == "/fhir/R4/{type_name}/{resource_id}"
    assert routes["fhir-export-file"].template == "/fhir/R4/$export-file/{job_id}/{name}"
    assert routes["care-plan-detail"].methods == ("get", "patch", "delete")


def test_every_route_with_an_id_has_an_entry() -> None:
    missing = sorted(
        f"{route.key} ({route.template})"
        for route in object_routes()
        if route.key not in OBJECT_ROUTES and route.key not in NOT_PATIENT_OBJECTS
    )
    assert not missing, (
        "These routes take an object id but have no entry in tests/test_bola_matrix.py: add a "
        "line to OBJECT_ROUTES (a builder for the object and the access rule: who may see whose) "
        "or, if the id names nothing that belongs to a patient or user, to NOT_PATIENT_OBJECTS "
        "with the reason:\n  " + "\n  ".join(missing)
    )


def test_every_entry_names_a_route_that_exists() -> None:
    stale = sorted((set(OBJECT_ROUTES) | set(NOT_PATIENT_OBJECTS)) - set(_routes_by_key()))
    assert not stale, f"entries for routes the URLconf no longer has: {stale}"


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The fixed actors of tests/conftest.py and every entry's objects, made once for the module
    in a transaction rolled back at its end (each test runs in a savepoint inside it)."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        transaction.atomic(),
    ):
        coordinator = UserFactory(role=Role.COORDINATOR, email="coordinator@example.test")
        clinician = ClinicianFactory(
            user__email="clinician@example.test", licensed_states=["NY", "NJ"]
        )
        clinician.coordinators.set([coordinator])
        other_clinician = ClinicianFactory(
            user__email="other-clinician@example.test", licensed_states=["WA"]
        )
        own = PatientFactory(user__email="patient@example.test", state="NY")
        other = PatientFactory(
            user__email="other-patient@example.test",
            state="WA",
            user__timezone="America/Los_Angeles",
        )
        world = World(
            actors={
                "patient": own.user,
                "clinician": clinician.user,
                "coordinator": coordinator,
                "scheduler": UserFactory(
                    role=Role.SCHEDULER, email="scheduler@example.test", is_staff=True
                ),
                "admin": UserFactory(role=Role.ADMIN, email="admin@example.test", is_staff=True),
            },
            patients={"own": own, "other": other},
            clinicians={"own": clinician, "other": other_clinician},
        )
        for entry in OBJECT_ROUTES.values():
            for role in ROLES:
                for side in SIDES:
                    entry.build(world, role, side)
        world.clients = {role: _client(world.actors[role]) for role in ROLES}
        yield world
        transaction.set_rollback(True)


def _missing(kwargs: dict[str, str]) -> dict[str, str]:
    """The same URL with every id replaced by one that does not exist."""
    fresh = dict(kwargs)
    for name in fresh:
        if name.endswith("_id"):
            fresh[name] = str(uuid.uuid4())
    return fresh


def _request(client: APIClient, method: str, url: str, body: dict[str, Any], *, api: bool) -> int:
    """One request in a savepoint rolled back after it: a write does not change the world.
    The API takes JSON; pages take forms."""
    with transaction.atomic():
        response = getattr(client, method)(url, body, format="json" if api else "multipart")
        transaction.set_rollback(True)
    return int(response.status_code)


def _matches(wanted: str, status: int) -> bool:
    if wanted == "see":
        return status not in (401, 403, 404) and status < 500
    return str(status) == wanted


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {account_services.token_issue(user=user)}")
    client.force_login(user)  # pages sign in with the session
    return client


@pytest.mark.parametrize("key", sorted(OBJECT_ROUTES))
def test_each_role_sees_only_what_the_access_rule_allows(world: World, key: str) -> None:
    routes = _routes_by_key()
    if key not in routes:
        pytest.fail(f"{key}: no such route (see test_every_entry_names_a_route_that_exists)")
    route, entry = routes[key], OBJECT_ROUTES[key]
    wrong: list[str] = []
    table: list[str] = []
    for role in ROLES:
        for method in route.methods:
            verdict = entry.verdict(role, method)
            answers: dict[str, int] = {}
            urls: dict[str, str] = {}
            for case in ("own", "other", "missing"):
                side: Side = "own" if case == "own" else "other"
                kwargs = entry.build(world, role, side)
                if case == "missing":
                    kwargs = _missing(kwargs)
                url = route.template.format(**kwargs)
                if entry.query is not None:
                    url += entry.query(world, role, side)
                body = entry.body[method](world, role, side) if method in entry.body else {}
                urls[case] = url
                answers[case] = _request(world.clients[role], method, url, body, api=route.api)
            if set(answers.values()) == {405}:
                continue  # a function view that does not allow this method
            for case, status in answers.items():
                if not _matches(expected(verdict, case), status):
                    wrong.append(
                        f"{role} {method.upper()} on {case} object ({urls[case]}): {status}, "
                        f"expected {expected(verdict, case)} ({verdict})"
                    )
            if verdict != SEE_ALL and answers["other"] != answers["missing"]:
                wrong.append(
                    f"{role} {method.upper()}: another patient's object answers "
                    f"{answers['other']}, a missing one {answers['missing']} (an oracle)"
                )
            table.append(f"{role:<11} {method.upper():<6} {verdict:<9} {answers}")
    if os.environ.get("BOLA_MATRIX_PRINT"):
        print(f"\n{key} {route.template}\n  " + "\n  ".join(table))
    assert not wrong, f"{key} ({route.template}):\n  " + "\n  ".join(wrong)


def test_unrelated_staff_really_have_no_relation(world: World) -> None:
    """The premise of "own and other are the same to schedulers and admins"."""
    for role in ("scheduler", "admin"):
        user = world.actors[role]
        assert user.role in (Role.SCHEDULER, Role.ADMIN)
        for side in SIDES:
            team = world.patient(side).care_team
            assert not CareTeamMember.objects.filter(care_team=team, user=user).exists()
