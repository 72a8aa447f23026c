"""Who may see which patient. The most security-critical code we have: one condition per line.

Every read of patient data goes through `access_patient` (or, for other apps' objects, a helper
built on `patient_visibility`). Missing and forbidden look the same: `NotFound`, so ids cannot be
probed. Each call records one audit event, including the denied ones.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NoReturn, TypeVar
from uuid import UUID, uuid4

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from carecore.audit.models import Action
from carecore.audit.services import AuditNote, audit_denied, audit_record_together
from carecore.common.queries import CompiledOnce, by_primary_key, by_primary_key_query

from .models import (
    CARE_TEAM_ROLES,
    BreakGlassGrant,
    CareTeam,
    CareTeamMember,
    Patient,
    Role,
    User,
)

_Row = TypeVar("_Row", bound=Model)

# Access that a visit gives holds from this long before its start to this long after its end.
VISIT_ACCESS_WINDOW = timedelta(hours=24)


class Purpose(enum.Enum):
    """What the caller wants to see. Schedulers may see demographics, never clinical data."""

    DEMOGRAPHICS = "demographics"
    CLINICAL = "clinical"


def _is_care_team_member(user: User, patient_ref: str) -> Exists:
    return Exists(
        CareTeamMember.objects.filter(care_team__patient_id=OuterRef(patient_ref), user=user)
    )


def _has_break_glass(user: User, patient_ref: str, now: datetime) -> Exists:
    return Exists(
        BreakGlassGrant.objects.filter(
            patient_id=OuterRef(patient_ref), user=user, expires_at__gt=now
        )
    )


def patient_visibility(
    user: User,
    *,
    purpose: Purpose,
    patient_ref: str = "pk",
    for_write: bool = False,
    now: datetime | None = None,
) -> Q:
    """A filter for any queryset with a patient reference, keeping what `user` may see, or with
    `for_write`, change.

    `patient_ref` names the patient id on the filtered model: "pk" for Patient itself,
    "patient_id" for an object that belongs to a patient.

    Break-glass is read-only: a grant lets its holder read, never write (publish a plan, close a
    review, book a visit, message the patient). Every write path asks with `for_write=True`.
    A grant counts until it expires: at `now` (default: the current time).
    """
    now = now or timezone.now()
    nothing = Q(pk__in=[])
    if not user.is_authenticated or not user.is_active:
        return nothing
    if user.role == Role.PATIENT:
        return Q(**{patient_ref: _own_patient_id(user)}) if _own_patient_id(user) else nothing
    if user.role == Role.SCHEDULER:
        return Q() if purpose is Purpose.DEMOGRAPHICS else nothing
    if user.role in (Role.CLINICIAN, Role.COORDINATOR) and for_write:
        return Q(_is_care_team_member(user, patient_ref))
    if user.role in (Role.CLINICIAN, Role.COORDINATOR):
        return Q(_is_care_team_member(user, patient_ref)) | Q(
            _has_break_glass(user, patient_ref, now)
        )
    if user.role == Role.ADMIN and for_write:
        return nothing
    if user.role == Role.ADMIN:
        return Q(_has_break_glass(user, patient_ref, now))
    return nothing


def clinical_patient_ids(user: User) -> list[UUID]:
    """The ids of every patient `user` may read clinically: exactly the patients that
    `patient_visibility(user, purpose=CLINICAL)` keeps (tests hold the two together), found from
    the user's side in one small query (memberships and grants are indexed by user) instead of
    testing the rule against every patient. For lists over many patients' rows."""
    if patients_found_by_query(user):
        return _CLINICAL_PATIENT_IDS[user.role].run(user_id=user.id, now=timezone.now())
    if user.is_authenticated and user.is_active and user.role == Role.PATIENT:
        own = _own_patient_id(user)
        return [own] if own else []
    return []


# Staff who read patients through care teams and break-glass grants: `clinical_patient_ids` finds
# their patients by a query (`clinical_patient_ids_query`). For everyone else the ids are known
# without one (a patient's own; nobody's).
PATIENTS_FOUND_BY_QUERY_ROLES = frozenset({Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN})


def patients_found_by_query(user: User) -> bool:
    """Whether `clinical_patient_ids(user)` runs `clinical_patient_ids_query`."""
    return bool(
        user.is_authenticated and user.is_active and user.role in PATIENTS_FOUND_BY_QUERY_ROLES
    )


def clinical_patient_ids_query(role: str, *, user_id: UUID, now: datetime) -> QuerySet[Any, UUID]:
    """The query `clinical_patient_ids` runs for an active user of `role` (one of
    PATIENTS_FOUND_BY_QUERY_ROLES), grants counting at `now`: to nest in a list's own query, which
    then finds the patients itself instead of being sent their ids (messaging's inbox)."""
    if role == Role.ADMIN:
        return _granted_patient_ids(user_id, now)
    if role in (Role.CLINICIAN, Role.COORDINATOR):
        return _team_and_granted_patient_ids(user_id, now)
    raise ValueError(f"The patients of a {role!r} are not found by a query.")


def _granted_patient_ids(user_id: UUID, now: datetime) -> QuerySet[BreakGlassGrant, UUID]:
    return BreakGlassGrant.objects.filter(user_id=user_id, expires_at__gt=now).values_list(
        "patient_id", flat=True
    )


def _team_and_granted_patient_ids(user_id: UUID, now: datetime) -> QuerySet[Any, UUID]:
    member_of = CareTeamMember.objects.filter(user_id=user_id).values_list(
        "care_team__patient_id", flat=True
    )
    return member_of.union(_granted_patient_ids(user_id, now))


def _compiled_patient_ids(role: str) -> CompiledOnce[UUID]:
    def build(*, user_id: UUID, now: datetime) -> QuerySet[Any, UUID]:
        return clinical_patient_ids_query(role, user_id=user_id, now=now)

    return CompiledOnce(build, user_id=UUID, now=datetime)


# Run for every staff list of threads and unread total: compiled once per process and role.
_CLINICAL_PATIENT_IDS: dict[str, CompiledOnce[UUID]] = {
    role: _compiled_patient_ids(role) for role in PATIENTS_FOUND_BY_QUERY_ROLES
}


def _own_patient_id(user: User) -> UUID | None:
    patient = getattr(user, "patient", None)
    return patient.id if patient is not None else None


def patients_visible_to(
    user: User, *, purpose: Purpose, for_write: bool = False
) -> QuerySet[Patient]:
    return Patient.objects.filter(patient_visibility(user, purpose=purpose, for_write=for_write))


def visit_window_open(*, start_field: str = "start_at", end_field: str = "end_at") -> Q:
    """A filter on visits keeping those whose access window is open now: from
    `VISIT_ACCESS_WINDOW` before the start to `VISIT_ACCESS_WINDOW` after the end. Access that a
    visit gives (the pre-visit summary to a clinician from outside the care team, the join link)
    holds only then, never before booking-plus-forever."""
    now = timezone.now()
    return Q(**{f"{start_field}__lte": now + VISIT_ACCESS_WINDOW}) & Q(
        **{f"{end_field}__gte": now - VISIT_ACCESS_WINDOW}
    )


def visit_window_is_open(start_at: datetime, end_at: datetime) -> bool:
    """`visit_window_open` for one visit in memory."""
    now = timezone.now()
    return start_at - VISIT_ACCESS_WINDOW <= now <= end_at + VISIT_ACCESS_WINDOW


def deny(*, user: User, object_type: str, object_id: object, action: str) -> NoReturn:
    """Missing and forbidden look the same: audit the denied attempt, then 404.

    The one way every access helper refuses. The audit event survives the rollback of the
    transaction the 404 leaves (`carecore.audit.services.DeniedNotFound`)."""
    raise audit_denied(actor=user, object_type=object_type, object_id=object_id, action=action)


def access_patient(
    *,
    user: User,
    patient_id: UUID | str,
    purpose: Purpose = Purpose.CLINICAL,
    for_write: bool = False,
    object_type: str = "patient",
) -> Patient:
    """The patient, if `user` may see (or with `for_write`, change) their data for `purpose`;
    else NotFound. Audited; a read only a break-glass grant allowed is marked by the audit
    trail itself (`carecore.accounts.break_glass`)."""
    return audited_get(
        patients_visible_to(user, purpose=purpose, for_write=for_write).select_related(
            "user", "care_team__lead__user"
        ),
        user=user,
        object_id=patient_id,
        object_type=object_type,
        action=Action.UPDATE if for_write else Action.READ,
        patient_id_of=lambda patient: patient.id,
    )


def audited_get(
    queryset: QuerySet[_Row],
    *,
    user: User,
    object_id: UUID | str,
    object_type: str,
    action: str = Action.READ,
    patient_id_of: Callable[[_Row], UUID | None] = lambda row: row.patient_id,  # type: ignore[attr-defined]
    detail: dict[str, object] | None = None,
    lock: bool = False,
    detail_of: Callable[[_Row], dict[str, object]] | None = None,
    also: Sequence[AuditNote] = (),
) -> _Row:
    """One row of an access-filtered queryset, or NotFound; either way one audit event.

    `detail_of` computes the event's detail from the row when it depends on it.
    `also` are events of the same user about the row's patient that a granted access writes
    with its own in one INSERT (a write that adds a row: that row's create event); a denial
    writes none of them.
    `lock=True` takes that row (only, not the rows `select_related` joins) FOR UPDATE; the
    caller must be in a transaction. A write's access event is the write's one audit event:
    `detail` says what it did.

    `queryset` must already be narrowed to what `user` may see (built on `patient_visibility`),
    so a row outside it and a missing row are the same 404 and the same "denied" event, which
    names the requested id but no patient (a denial must not confirm who the row belongs to).
    """
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    return audited_row(
        by_primary_key(queryset, object_id),
        user=user,
        object_id=object_id,
        object_type=object_type,
        action=action,
        patient_id_of=patient_id_of,
        detail=detail,
        detail_of=detail_of,
        also=also,
    )


def audited_row(
    row: _Row | None,
    *,
    user: User,
    object_id: UUID | str,
    object_type: str,
    action: str = Action.READ,
    patient_id_of: Callable[[_Row], UUID | None] = lambda row: row.patient_id,  # type: ignore[attr-defined]
    detail: dict[str, object] | None = None,
    detail_of: Callable[[_Row], dict[str, object]] | None = None,
    also: Sequence[AuditNote] = (),
) -> _Row:
    """`audited_get` for a row already looked up (`VisibleRows.get`): NotFound and a "denied"
    event if there is none, else the row and its access event (with `also`)."""
    if row is None:
        deny(user=user, object_type=object_type, object_id=object_id, action=action)
    access = AuditNote(
        object_type=object_type,
        object_id=row.pk,
        action=action,
        detail=detail_of(row) if detail_of is not None else detail,
    )
    audit_record_together(actor=user, patient_id=patient_id_of(row), notes=(access, *also))
    return row


class VisibleRows(Generic[_Row]):
    """Rows `user` may see, read by primary key on a hot path with a query compiled once per
    process for each role (`CompiledOnce`), instead of built and compiled by Django on every
    request (for a thread's page of messages that was about a tenth of its CPU).

    `rows(user, now)` is the queryset to look in: built on `patient_visibility` (break-glass
    grants counted at `now`), from nothing of the user but their id, role and patient row, which
    is all `patient_visibility` reads, and from nothing else that changes from run to run. For
    each role it is compiled once for a stand-in user of that role (an unsaved User, with an
    unsaved Patient for a patient) and then run with the real user's ids, `now` and the row's
    id. A user the stand-in cannot be (inactive, a patient without a patient row), an id that
    is not a UUID, a role that may see nothing and a locked look-up go the ordinary way.

    With settings.CARECORE_VERIFY_COMPILED_QUERIES (on in the test suite), every compiled run is
    also built the ordinary way, from the real user, and must give the same SQL and parameters.
    """

    def __init__(self, rows: Callable[[User, datetime], QuerySet[_Row]]) -> None:
        self._rows = rows
        # Per (role, has a patient row): the compiled query, or None if the role sees nothing.
        self._compiled: dict[tuple[str, bool], CompiledOnce[_Row] | None] = {}
        self._lock = threading.Lock()

    def queryset(self, user: User) -> QuerySet[_Row]:
        """The rows `user` may see now, the ordinary way (to lock a row, say)."""
        return self._rows(user, timezone.now())

    def get(self, user: User, object_id: UUID | str, *, lock: bool = False) -> _Row | None:
        """The row with primary key `object_id` if `user` may see it, else None.

        `lock=True` takes that row (only, not the rows `select_related` joins) FOR UPDATE, as
        `audited_get` does, looked up the ordinary way; the caller must be in a transaction."""
        now = timezone.now()
        if lock:
            rows = self._rows(user, now).select_for_update(of=("self",))
            return by_primary_key(rows, object_id)
        compiled = None
        own_patient_id = None
        if isinstance(object_id, UUID) and user.is_authenticated and user.is_active:
            own_patient_id = _own_patient_id(user) if user.role == Role.PATIENT else None
            if user.role != Role.PATIENT or own_patient_id is not None:
                compiled = self.compiled_for(user.role, has_patient=own_patient_id is not None)
        if compiled is None:
            return by_primary_key(self._rows(user, now), object_id)
        values = {"user_id": user.id, "patient_id": own_patient_id, "now": now, "pk": object_id}
        values = {name: values[name] for name in compiled.kinds}
        if settings.CARECORE_VERIFY_COMPILED_QUERIES:
            self._verify(compiled, user, now, values)
        found = compiled.run(**values)
        return found[0] if found else None

    def compiled_for(self, role: str, *, has_patient: bool) -> CompiledOnce[_Row] | None:
        """The query compiled for users of `role` (with a patient row or not), or None when
        they see nothing here."""
        key = (role, has_patient)
        if key not in self._compiled:
            with self._lock:
                if key not in self._compiled:
                    self._compiled[key] = self._compile(role, has_patient=has_patient)
        return self._compiled[key]

    def _compile(self, role: str, *, has_patient: bool) -> CompiledOnce[_Row] | None:
        def build(
            *,
            pk: UUID,
            user_id: UUID = _UNUSED_ID,
            patient_id: UUID = _UNUSED_ID,
            now: datetime = _UNUSED_TIME,
        ) -> QuerySet[_Row]:
            stand_in = _stand_in_user(role, user_id, patient_id if has_patient else None)
            return by_primary_key_query(self._rows(stand_in, now), pk)

        # Which of the user's values reach the SQL (a patient's: their patient id only).
        probe: dict[str, Any] = {
            "pk": uuid4(),
            "user_id": uuid4(),
            "patient_id": uuid4(),
            "now": timezone.now(),
        }
        try:
            sql_params = build(**probe).query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()[1]
        except EmptyResultSet:
            return None  # this role sees nothing here: the ordinary way answers without SQL
        kinds = {name: _VALUE_KINDS[name] for name, value in probe.items() if value in sql_params}
        return CompiledOnce(build, **kinds)

    def _verify(
        self, compiled: CompiledOnce[_Row], user: User, now: datetime, values: dict[str, Any]
    ) -> None:
        using = router.db_for_read(compiled.model)
        ordinary = by_primary_key_query(self._rows(user, now), values["pk"])
        expected = ordinary.query.get_compiler(using=using).as_sql()
        if compiled.compiler(using, values).as_sql() != expected:
            raise AssertionError(f"VisibleRows: the compiled query differs: {expected[0]}")


# Values no run passes, for those a role's query does not use (they never reach the SQL).
_UNUSED_ID = UUID(int=0)
_UNUSED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_VALUE_KINDS: dict[str, type] = {"pk": UUID, "user_id": UUID, "patient_id": UUID, "now": datetime}


def _stand_in_user(role: str, user_id: UUID, patient_id: UUID | None) -> User:
    """An unsaved user of `role` with id `user_id` and, given `patient_id`, an unsaved patient
    row of that id: what `patient_visibility` reads of a user."""
    user = User(id=user_id, role=role, is_active=True)
    if patient_id is not None:
        Patient(id=patient_id, user=user)  # also sets `user.patient` (a one-to-one's other side)
    return user


def access_care_team(*, user: User, care_team_id: UUID | str) -> CareTeam:
    """A patient's care team, to whoever may see that patient's demographics (the same rule as
    `/me` and `/patients/<id>/`, which show it); else NotFound. Audited either way."""
    return audited_get(
        CareTeam.objects.filter(
            patient_visibility(user, purpose=Purpose.DEMOGRAPHICS, patient_ref="patient_id")
        ),
        user=user,
        object_id=care_team_id,
        object_type="care_team",
    )


def _reviews_break_glass(user: User) -> Q:
    """A filter on break-glass grants keeping those `user` reviews: the grants to patients on
    whose care team they are (its lead clinician is told of each one; the team decides who
    sees the patient). Deliberately not `patient_visibility`: its break-glass branch would show
    a patient's grants to whoever holds one, the grant's own holder included. Admins review
    grants in the administration site, patients in their "Who has viewed my record"."""
    nothing = Q(pk__in=[])
    if not user.is_authenticated or not user.is_active:
        return nothing
    if user.role not in CARE_TEAM_ROLES:
        return nothing
    return Q(_is_care_team_member(user, "patient_id"))


def access_break_glass_grant(*, user: User, grant_id: UUID | str) -> BreakGlassGrant:
    """One break-glass grant (holder and patient loaded), to a member of its patient's care
    team; else NotFound, exactly as for a grant that does not exist. Audited either way."""
    return audited_get(
        BreakGlassGrant.objects.filter(_reviews_break_glass(user)).select_related(
            "user", "patient__user"
        ),
        user=user,
        object_id=grant_id,
        object_type="break_glass_grant",
    )
