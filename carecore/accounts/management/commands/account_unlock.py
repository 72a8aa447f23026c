"""`manage.py account_unlock <email>`: lift a login lockout now (docs/security.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carecore.accounts.lockout import account_unlock


class Command(BaseCommand):
    help = (
        "Forget the failed sign-ins counted against an e-mail address, lifting its lockouts "
        "(per address and per account) at once. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        removed = account_unlock(email=email)
        self.stdout.write(f"Lockout lifted ({removed} failure counter(s) removed).")
