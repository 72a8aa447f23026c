"""Who may read which questionnaire response and intake review.

Built on `patient_visibility` (care team, break-glass, the patient themselves); schedulers never
see answers or scores (their role is refused at the endpoint, and CLINICAL purpose excludes
them here too). Missing and forbidden are the same 404. Every call writes one audit event.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q

from carecore.accounts.access import Purpose, audited_get, patient_visibility
from carecore.accounts.models import Role, User
from carecore.audit.models import Action

from .models import IntakeReview, QuestionnaireResponse, ReviewEscalationStep


def _clinically_visible(user: User, *, for_write: bool = False) -> Q:
    # Writes (completing a review, changing answers) never under break-glass.
    return patient_visibility(
        user, purpose=Purpose.CLINICAL, patient_ref="patient_id", for_write=for_write
    )


def access_response(
    *, user: User, response_id: UUID | str, for_write: bool = False, lock: bool = False
) -> QuestionnaireResponse:
    """The response if `user` may see it; else NotFound. Audited. `lock=True` takes the
    response row (only) FOR UPDATE; the caller must be in a transaction."""
    return audited_get(
        QuestionnaireResponse.objects.filter(
            _clinically_visible(user, for_write=for_write)
        ).select_related("version__questionnaire", "patient__user"),
        user=user,
        object_id=response_id,
        object_type="questionnaire_response",
        action=Action.UPDATE if for_write else Action.READ,
        lock=lock,
    )


def access_review(
    *, user: User, review_id: UUID | str, for_write: bool = False, lock: bool = False
) -> IntakeReview:
    """The review if `user` may see it; else NotFound. Audited. `lock=True` takes the review
    row (only) FOR UPDATE; the caller must be in a transaction."""
    return audited_get(
        IntakeReview.objects.filter(_clinically_visible(user, for_write=for_write)).select_related(
            "response__version__questionnaire", "patient__user"
        ),
        user=user,
        object_id=review_id,
        object_type="intake_review",
        action=Action.UPDATE if for_write else Action.READ,
        lock=lock,
    )


def may_read_review(*, user: User, review_id: UUID | str) -> bool:
    """Whether `user` may read a review: the same rule as `access_review`, asked without reading
    it or auditing (whether there is anything to offer or open; nothing of the review is
    returned)."""
    return IntakeReview.objects.filter(_clinically_visible(user), pk=review_id).exists()


def may_write_review(*, user: User, review_id: UUID | str) -> bool:
    """Whether `user` may write to a review they can read: the same rule as
    `access_review(for_write=True)`, asked without writing or auditing (a page deciding whether
    to offer its form; the write still goes through the access check). False for a reader under
    break-glass, whose grant is read-only."""
    writable = IntakeReview.objects.filter(_clinically_visible(user, for_write=True))
    return writable.filter(pk=review_id).exists()


def escalated_review_patient_id(*, user: User, review_id: UUID) -> UUID | None:
    """The patient of review `review_id` if `user` may be offered break-glass access to them from
    the review's page, else None: a clinician (break-glass is for clinicians and admins, and
    admins have no workspace) whom a step of this very review's red-flag ladder told
    (`ReviewEscalationStep.recipient_ids`: the clinical lead at step 3, typically), and who cannot
    read the review now (off the care team, no grant still open).

    Not a read of patient data and not audited: it tells the caller no more than the
    `intake_red_flag` page told them (that the review exists and was escalated to them). The page
    that asks has already had the review refused, and that refusal is audited as denied.
    One condition per line.
    """
    if user.role != Role.CLINICIAN:
        return None
    if not user.is_active:
        return None
    escalated_to_user = ReviewEscalationStep.objects.filter(
        review_id=review_id, recipient_ids__contains=[str(user.id)]
    )
    if not escalated_to_user.exists():
        return None
    if may_read_review(user=user, review_id=review_id):
        return None
    patient_id: UUID | None = (
        IntakeReview.objects.filter(pk=review_id).values_list("patient_id", flat=True).first()
    )
    return patient_id
