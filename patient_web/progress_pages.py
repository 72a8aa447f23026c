"""Progress: the patient's scores per instrument over time, each as a chart (severity bands
shaded, the active goal's target drawn; static/portal/progress-charts.js on the vendored
Chart.js) and as the same data in a table. Thin: careplans' `measures_progress` reads (and
audits) the timeline and the goal; the bands are the instruments' published ones."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from careplans.selectors import measures_progress
from intake.instruments import INSTRUMENTS
from intake.selectors import questionnaire_current_list

from .guards import patient_page, signed_in

# The instruments a patient tracks over time, in the order the page shows them.
TRACKED = ("poem", "dlqi", "ibs-sss", "gsrs", "pss-10", "pss-4", "isi")


def _words(name: str | None) -> str:
    return (name or "").replace("_", " ")


def progress_chart(
    instrument: str,
    progress: Any,
    *,
    score_label: str = "Your score",
    goal_label: str = "Your goal",
) -> dict[str, Any]:
    """What static/portal/progress-charts.js draws for one instrument (also the care team's
    patient chart, with its own line names)."""
    scorer = INSTRUMENTS[instrument]
    goal = progress.goal
    return {
        "labels": [
            timezone.localtime(point.completed_at).strftime("%-d %b %Y")
            for point in progress.results
        ],
        "values": [point.total for point in progress.results],
        "min": scorer.TOTAL_MIN,
        "max": scorer.TOTAL_MAX,
        "bands": [
            {"low": band.low, "high": band.high, "name": _words(band.name)} for band in scorer.BANDS
        ],
        "goal": goal.target_value if goal is not None else None,
        "score_label": score_label,
        "goal_label": goal_label,
    }


@require_GET
@patient_page
def progress(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    titles = {
        version.questionnaire.slug: version.questionnaire.title
        for version in questionnaire_current_list()
    }
    patient_id = user.patient.id
    instruments = []
    for instrument in TRACKED:
        timeline = measures_progress(user=user, patient_id=patient_id, instrument=instrument)
        if not timeline.results:
            continue
        chart = progress_chart(instrument, timeline)
        instruments.append(
            {
                "slug": instrument,
                "title": titles.get(instrument, instrument.upper()),
                "goal": timeline.goal,
                "rows": [
                    {"point": point, "band": _words(point.band)} for point in timeline.results
                ],
                "chart": json.dumps(chart),
                "latest": timeline.results[-1],
                "latest_band": _words(timeline.results[-1].band),
                "bands": chart["bands"],
            }
        )
    return render(request, "patient_web/progress.html", {"instruments": instruments})
