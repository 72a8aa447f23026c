"""Failed logins leave no e-mail address in the logs (issue 12, item 10).

django-axes logs each failed login at WARNING with the client it counts against; that client was
the typed e-mail address. It is now a keyed hash: stable per address (a spray against one
account stays visible) but not the address, and not reversible without SECRET_KEY.
"""

from __future__ import annotations

import logging

import pytest

from carecore.accounts.axes_logging import account_hash

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login/"


def test_failed_logins_log_a_keyed_hash_never_the_email(anon, patient, caplog):
    typed = "Patient@Example.test"
    stranger = "somebody.else@example.org"
    with caplog.at_level(logging.DEBUG):
        for email in (typed, typed, stranger):
            anon.post(LOGIN, {"email": email, "password": "wrong"}, format="json")
        # Locked out: axes logs the lockout too.
        for _ in range(10):
            anon.post(LOGIN, {"email": typed, "password": "wrong"}, format="json")

    axes_lines = [
        record.getMessage() for record in caplog.records if record.name.startswith("axes")
    ]
    assert axes_lines, "axes logged nothing: the test would prove nothing"
    text = caplog.text.lower()
    for address in (typed, stranger, "patient@example.test"):
        assert address.lower() not in text
        assert address.split("@")[0].lower() not in text
    assert any(account_hash(typed) in line for line in axes_lines)
    assert any(account_hash(stranger) in line for line in axes_lines)


def test_the_hash_is_stable_per_address_and_keyed(settings):
    first = account_hash("patient@example.test")

    assert account_hash(" PATIENT@example.test ") == first
    assert account_hash("other@example.test") != first
    settings.SECRET_KEY = "another-secret-key-another-secret-key-0123456789"
    assert account_hash("patient@example.test") != first
