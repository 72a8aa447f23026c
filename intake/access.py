"""Who may read which questionnaire response and intake review.

Built on `patient_visibility` (care team, break-glass, the patient themselves); schedulers never
see answers or scores (their role is refused at the endpoint, and CLINICAL purpose excludes
them here too). Missing and forbidden are the same 404. Every call writes one audit event.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q

from carecore.accounts.access import Purpose, audited_get, patient_visibility
from carecore.accounts.models import User
from carecore.audit.models import Action

from .models import IntakeReview, QuestionnaireResponse


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
