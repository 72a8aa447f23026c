"""Hooks intake offers the apps above it (they subscribe; intake never imports them).

`response_completed` is sent inside the response's transaction, after the response is scored,
screened and queued for review, and before the care team is notified. A receiver that raises
rolls the whole completion back, so subscribers do their work in the same transaction (e.g.
care plans link the response to a due check-in) and must be quick and idempotent.

Sent with keyword arguments: `response` (the completed QuestionnaireResponse, with its version,
questionnaire and patient loaded).
"""

from __future__ import annotations

from django.dispatch import Signal

response_completed = Signal()
