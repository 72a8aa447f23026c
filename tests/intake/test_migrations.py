"""Migration 0006 gives the red flags stored before it their severity, and each review its worst
one (urgent or expedited), without paging anyone for old reviews."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ..factories import PatientFactory

BEFORE = [("intake", "0005_care_plans_move_to_careplans")]
AFTER = [("intake", "0006_red_flag_severity_and_pages")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_stored_flags_and_reviews_get_their_severity():
    patient = PatientFactory()
    apps = migrate(BEFORE)
    try:
        Questionnaire = apps.get_model("intake", "Questionnaire")
        QuestionnaireVersion = apps.get_model("intake", "QuestionnaireVersion")
        QuestionnaireResponse = apps.get_model("intake", "QuestionnaireResponse")
        IntakeReview = apps.get_model("intake", "IntakeReview")
        questionnaire = Questionnaire.objects.create(slug="gut-skin-intake", title="Intake")
        version = QuestionnaireVersion.objects.create(
            questionnaire=questionnaire, version="1.0.0", url="https://x.test/q", definition={}
        )

        def completed(flags: list[dict[str, str]]):
            response = QuestionnaireResponse.objects.create(
                patient_id=patient.id,
                version=version,
                status="completed",
                completed_at="2026-01-01T00:00:00Z",
                red_flags=flags,
            )
            IntakeReview.objects.create(
                response=response, patient_id=patient.id, urgent=bool(flags)
            )
            return response.id

        soon_only = completed([{"code": "gi_family_history", "label": "Family history"}])
        crisis = completed(
            [
                {"code": "gi_weight_loss", "label": "Weight loss"},
                {"code": "mh_self_harm", "label": "Self-harm"},
            ]
        )
        clear = completed([])

        apps = migrate(AFTER)
        QuestionnaireResponse = apps.get_model("intake", "QuestionnaireResponse")
        IntakeReview = apps.get_model("intake", "IntakeReview")

        def review(response_id):
            row = IntakeReview.objects.get(response_id=response_id)
            return row.severity, row.urgent, row.expedited, row.paged_at

        assert review(soon_only) == ("soon", False, True, None)
        assert review(crisis) == ("crisis", True, False, None)
        assert review(clear) == ("", False, False, None)
        assert QuestionnaireResponse.objects.get(id=crisis).red_flags == [
            {"code": "gi_weight_loss", "label": "Weight loss", "severity": "soon"},
            {"code": "mh_self_harm", "label": "Self-harm", "severity": "crisis"},
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
