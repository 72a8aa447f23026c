"""The app runs as a database role that cannot touch the audit trail's past (issue #12, item 4).

Against the real PostgreSQL of the suite: `provision_db_roles` makes an owner role (migrations)
and an app role (web, workers, beat). The app role may only SELECT and INSERT audit rows; it
cannot UPDATE, DELETE or TRUNCATE them, nor disable, drop or replace the append-only trigger,
while the application itself works as that role. See docs/security.md, "Database roles".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from psycopg import errors

from carecore.accounts.models import User
from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record
from carecore.common import partitions
from tests.factories import TEST_PASSWORD, UserFactory
from tests.servers import api_call, running_web

ROOT = Path(__file__).resolve().parents[2]
OWNER, APP = "carecore_test_owner", "carecore_test_app"
OWNER_PASSWORD, APP_PASSWORD = "owner-test-password-1", "app-test-password-1"

# Grants and ownership must be committed for another connection to see them.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def roles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARECORE_DB_OWNER_PASSWORD", OWNER_PASSWORD)
    monkeypatch.setenv("CARECORE_DB_APP_PASSWORD", APP_PASSWORD)
    call_command("provision_db_roles", "--create-roles", owner=OWNER, app=APP)
    yield
    # Provisioning commits: the suite's database, tables and functions now belong to OWNER.
    # Hand them back, so later tests that migrate as the suite's user (a new partitioned table
    # whose partitions the owner's SECURITY DEFINER function creates) own what they make.
    with connection.cursor() as cursor:
        cursor.execute("REASSIGN OWNED BY carecore_test_owner TO CURRENT_USER")  # OWNER


def _host_and_port() -> tuple[str, str]:
    # The embedded server listens on a socket directory, given as the `host` option.
    settings = connection.settings_dict
    return settings["OPTIONS"].get("host") or settings["HOST"], str(settings["PORT"] or 5432)


def _connect(role: str, password: str) -> psycopg.Connection[Any]:
    host, port = _host_and_port()
    return psycopg.connect(
        host=host,
        port=port,
        dbname=connection.settings_dict["NAME"],
        user=role,
        password=password,
        autocommit=True,
    )


@pytest.fixture
def as_app(roles: None) -> Iterator[psycopg.Connection[Any]]:
    with _connect(APP, APP_PASSWORD) as conn:
        yield conn


@pytest.fixture
def as_owner(roles: None) -> Iterator[psycopg.Connection[Any]]:
    with _connect(OWNER, OWNER_PASSWORD) as conn:
        yield conn


@pytest.fixture
def audit_row(db: None) -> AuditEvent:
    return audit_record(actor=None, object_type="patient", object_id="x", action="read")


def test_the_app_role_reads_and_appends_audit_rows(as_app, audit_row):
    as_app.execute(
        "INSERT INTO audit_auditevent (occurred_at, actor_role, object_type, object_id, action,"
        " outcome, request_id, detail) VALUES (now(), '', 'patient', 'y', 'read', 'success',"
        " '', '{}')"
    )

    count = as_app.execute("SELECT count(*) FROM audit_auditevent").fetchone()

    assert count == (2,)


# Each would let the app rewrite or hide what happened; PostgreSQL refuses every one to it.
REFUSED_TO_THE_APP = [
    "UPDATE audit_auditevent SET action = 'login' WHERE id = %(id)s",
    "DELETE FROM audit_auditevent WHERE id = %(id)s",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_or_delete",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_event_no_update_or_delete ON audit_auditevent",
    "DROP TABLE audit_auditevent",
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS"
    " $$ BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql",
    "SET session_replication_role = replica",
    f"ALTER TABLE audit_auditevent OWNER TO {APP}",
    "CREATE TABLE audit_copy (id int)",
]


def test_the_app_role_cannot_change_or_unprotect_the_audit_trail(as_app, audit_row):
    # One test for all statements: each transactional test empties every table afterwards.
    allowed = []
    for statement in REFUSED_TO_THE_APP:
        try:
            as_app.execute(statement, {"id": audit_row.id} if "%(id)s" in statement else None)
        except errors.InsufficientPrivilege:
            continue
        allowed.append(statement)

    assert allowed == []
    assert AuditEvent.objects.filter(pk=audit_row.pk, action="read").exists()
    assert _trigger_enabled()


def _trigger_enabled() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_event_no_update_or_delete'"
        )
        return cursor.fetchone() == ("O",)


def test_even_the_owner_cannot_rewrite_audit_rows(as_owner, audit_row):
    # The owner could disable the trigger; that is why only the migrate job has its password.
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        as_owner.execute("DELETE FROM audit_auditevent WHERE id = %s", [audit_row.id])


def test_the_app_role_changes_ordinary_rows_but_not_the_migration_record(as_app, db):
    user = UserFactory()

    as_app.execute("UPDATE accounts_user SET preferred_name = 'Sam' WHERE id = %s", [user.id])

    user.refresh_from_db()
    assert user.preferred_name == "Sam"
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute("DELETE FROM django_migrations")


def test_tables_from_later_migrations_are_usable_by_the_app(as_owner, as_app):
    as_owner.execute("CREATE TABLE later_migration_table (id bigserial PRIMARY KEY, note text)")
    try:
        as_app.execute("INSERT INTO later_migration_table (note) VALUES ('ok')")
        rows = as_app.execute("SELECT note FROM later_migration_table").fetchall()
        with pytest.raises(errors.InsufficientPrivilege):
            as_app.execute("TRUNCATE later_migration_table")
    finally:
        as_owner.execute("DROP TABLE later_migration_table")

    assert rows == [("ok",)]


def test_the_migrate_job_reruns_it_as_the_owner(roles, as_app, audit_row):
    """What the migrate job does after `migrate`: the same command through the owner's
    connection, which may grant on its own tables but could never create roles."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.test",
        "DATABASE_URL": _url(OWNER, OWNER_PASSWORD),
        "CARECORE_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        "CARECORE_DB_OWNER_ROLE": OWNER,
        "CARECORE_DB_APP_ROLE": APP,
    }
    command = [sys.executable, "manage.py", "provision_db_roles"]

    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    create = subprocess.run(
        [*command, "--create-roles"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )

    assert rerun.returncode == 0, rerun.stderr
    assert create.returncode != 0  # the owner may not create roles
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute("DELETE FROM audit_auditevent WHERE id = %s", [audit_row.id])


def _url(role: str, password: str) -> str:
    host, port = _host_and_port()
    name = connection.settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgres://{role}:{password}@/{name}?host={host}&port={port}"
    return f"postgres://{role}:{password}@{host}:{port}/{name}"


def test_the_application_works_as_the_app_role(roles):
    patient = UserFactory(email="runs-as-app@example.test")
    with running_web("app-role", {"DATABASE_URL": _url(APP, APP_PASSWORD)}) as base:
        status, signed_in = api_call(
            base,
            "",
            "POST",
            "/api/v1/auth/login/",
            {"email": patient.email, "password": TEST_PASSWORD},
        )
        assert status == 200, signed_in
        token = signed_in["token"]
        changed, _ = api_call(base, token, "PATCH", "/api/v1/me/", {"preferred_name": "Sam"})
        status, me = api_call(base, token, "GET", "/api/v1/me/")

    assert changed == 200
    assert status == 200
    assert me["preferred_name"] == "Sam"
    assert User.objects.get(pk=patient.pk).preferred_name == "Sam"
    assert AuditEvent.objects.filter(actor_id=patient.pk, action="login").exists()


def _partition_for(months_ahead: int) -> tuple[date, str]:
    month = partitions.add_months(partitions.month_start(timezone.now()), months_ahead)
    return month, partitions.partition_name("audit_auditevent", month)


def test_the_app_role_cannot_change_a_month_of_the_audit_trail_by_its_partitions_name(as_app):
    # The audit trail is partitioned by month: each partition is a table of its own.
    _, this_month = _partition_for(0)
    allowed = []
    for statement in [
        f"UPDATE {this_month} SET action = 'login'",  # noqa: S608
        f"DELETE FROM {this_month}",  # noqa: S608
        f"TRUNCATE {this_month}",
        f"ALTER TABLE {this_month} DISABLE TRIGGER ALL",
        f"ALTER TABLE audit_auditevent DETACH PARTITION {this_month}",
        f"DROP TABLE {this_month}",
    ]:
        try:
            as_app.execute(statement)
        except errors.InsufficientPrivilege:
            continue
        allowed.append(statement)

    assert allowed == []


def test_the_app_role_creates_months_ahead_with_the_audit_trails_restrictions(as_app):
    """The beat task runs as the app role: the partition function (SECURITY DEFINER, the
    owner's) creates the month, with the parent's SELECT/INSERT-only grants."""
    month, name = _partition_for(15)
    try:
        (created,) = as_app.execute(
            "SELECT carecore_month_partition('audit_auditevent', %s)", [month]
        ).fetchone()
        as_app.execute(
            "INSERT INTO audit_auditevent (occurred_at, actor_role, object_type, object_id,"
            " action, outcome, request_id, detail) VALUES (%s, '', 'patient', 'y', 'read',"
            " 'success', '', '{}')",
            [datetime(month.year, month.month, 1, tzinfo=UTC)],
        )
        (landed,) = as_app.execute(f"SELECT count(*) FROM {name}").fetchone()  # noqa: S608
        with pytest.raises(errors.InsufficientPrivilege):
            as_app.execute(f"UPDATE {name} SET action = 'login'")  # noqa: S608
        with pytest.raises(errors.InsufficientPrivilege):
            as_app.execute(f"CREATE TABLE {name}_copy (LIKE {name})")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")

    assert created is True
    assert landed == 1
