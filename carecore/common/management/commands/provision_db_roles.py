"""Set up the database roles CareCore runs as (carecore/common/db_roles.py, docs/security.md,
"Database roles").

    # once per database, and again to rotate passwords: as the cluster's superuser
    DATABASE_URL=postgres://postgres:...@db/carecore \\
        python manage.py provision_db_roles --create-roles
    # after every migrate: as the owner (what the migrate job does)
    python manage.py provision_db_roles

Role names come from CARECORE_DB_OWNER_ROLE and CARECORE_DB_APP_ROLE (default carecore_owner
and carecore_app), passwords from CARECORE_DB_OWNER_PASSWORD and CARECORE_DB_APP_PASSWORD (only
read with --create-roles; an empty one leaves that role's password as it is).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from carecore.common import db_roles


class Command(BaseCommand):
    help = "Create the owner and app database roles and grant the app role what it needs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--owner", default=os.environ.get("CARECORE_DB_OWNER_ROLE", "carecore_owner")
        )
        parser.add_argument("--app", default=os.environ.get("CARECORE_DB_APP_ROLE", "carecore_app"))
        parser.add_argument(
            "--create-roles",
            action="store_true",
            help="Also create or update both login roles and hand the database to the owner "
            "(needs a superuser connection).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            roles = db_roles.Roles(owner=options["owner"], app=options["app"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        with transaction.atomic(), connection.cursor() as cursor:
            if options["create_roles"]:
                db_roles.create_roles(
                    cursor,
                    roles=roles,
                    owner_password=os.environ.get("CARECORE_DB_OWNER_PASSWORD") or None,
                    app_password=os.environ.get("CARECORE_DB_APP_PASSWORD") or None,
                )
            db_roles.provision(cursor, roles=roles)
        self.stdout.write(f"Database roles ready: owner {roles.owner}, app {roles.app}.")
