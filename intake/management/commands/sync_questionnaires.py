"""Publish the questionnaire definitions in intake/definitions/ (idempotent).

New versions are published and become current; an unchanged version is left alone; a changed
definition under an already-published version number is refused (bump the version instead).
Run by `make run` after migrate, and by deployments after migrations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from intake import services
from intake.engine import DEFINITIONS_DIR


class Command(BaseCommand):
    help = "Publish questionnaire definitions from intake/definitions/ (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--directory", default=str(DEFINITIONS_DIR))

    def handle(self, *args: Any, **options: Any) -> None:
        published = 0
        for path in sorted(Path(options["directory"]).glob("*.json")):
            definition = json.loads(path.read_text())
            try:
                _version, created = services.questionnaire_publish(definition=definition)
            except (services.VersionChanged, ValueError) as error:
                raise CommandError(f"{path.name}: {error}") from error
            published += int(created)
        self.stdout.write(f"sync_questionnaires: {published} new version(s) published.")
