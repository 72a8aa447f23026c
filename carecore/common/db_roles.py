"""The two database roles CareCore runs as, and what each may do (docs/security.md, "Database
roles").

- The **owner** role owns the database, the `public` schema and every table in it. Migrations
  run as the owner, and only the one-off migrate job has its password.
- The **app** role is what web, workers and beat connect as. It may SELECT, INSERT, UPDATE and
  DELETE rows and use sequences, and nothing else: no DDL, no TRUNCATE, no triggers. On the
  append-only tables (the audit trail) it may only SELECT and INSERT. Not owning the tables,
  it cannot disable or drop the audit trail's append-only trigger, nor replace its function.

`provision` is idempotent and is run after every `migrate` (new tables get the app's rights from
the owner's default privileges at once; this run re-applies the append-only restrictions, so a
table added later is covered either way). `create_roles` needs a role that may create roles and
change owners (the cluster's superuser): it creates or updates both login roles and hands over
what an older install created as the superuser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import sql

# Tables the app may read and append to but never change: the audit trail and the break-glass
# grants (their triggers refuse UPDATE and DELETE even to the owner; accounts 0005) and the
# record of applied migrations.
APPEND_ONLY_TABLES = ("audit_auditevent", "accounts_breakglassgrant")
READ_ONLY_TABLES = ("django_migrations",)
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SCHEMA = "public"

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Roles:
    owner: str
    app: str

    def __post_init__(self) -> None:
        for name in (self.owner, self.app):
            if not _ROLE_NAME.fullmatch(name):
                raise ValueError("Role names are lowercase letters, digits and underscores.")
        if self.owner == self.app:
            raise ValueError("The owner and the app must be different roles.")


def _exec(cursor: Any, statement: sql.Composable) -> None:
    # No parameters: values are quoted into the statement by psycopg (sql.Literal), because
    # utility statements (CREATE ROLE ... PASSWORD) take no bind parameters.
    cursor.execute(statement)


def _role_exists(cursor: Any, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    return cursor.fetchone() is not None


def create_roles(
    cursor: Any, *, roles: Roles, owner_password: str | None, app_password: str | None
) -> None:
    """Create (or bring back in line) both login roles, make the owner own the current database,
    its `public` schema and everything in it. Run as a superuser. A password given is set (so a
    rotation is one more run); None leaves an existing role's password alone."""
    for name, password in ((roles.owner, owner_password), (roles.app, app_password)):
        verb = "ALTER" if _role_exists(cursor, name) else "CREATE"
        # Login only: neither role may create roles or databases, bypass row security or
        # replicate; a superuser would bypass every privilege below.
        statement = sql.SQL(
            "{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        ).format(verb=sql.SQL(verb), role=sql.Identifier(name))
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        _exec(cursor, statement)
    cursor.execute("SELECT current_database()")
    database = cursor.fetchone()[0]
    owner = sql.Identifier(roles.owner)
    _exec(
        cursor,
        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), owner),
    )
    _exec(cursor, sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(SCHEMA), owner))
    _take_ownership(cursor, roles=roles)


def _take_ownership(cursor: Any, *, roles: Roles) -> None:
    """Tables, sequences, views and functions made by whoever ran migrations before (in older
    installs, the superuser) pass to the owner. Sequences owned by a column follow their table."""
    owner = sql.Identifier(roles.owner)
    cursor.execute(
        """
        SELECT c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND pg_get_userbyid(c.relowner) <> %s
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT 1 FROM pg_depend d
              WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.classid = 'pg_class'::regclass
          ))
        ORDER BY c.relkind, c.relname
        """,
        [SCHEMA, roles.owner],
    )
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for name, kind in cursor.fetchall():
        _exec(
            cursor,
            sql.SQL("ALTER {kind} {schema}.{name} OWNER TO {owner}").format(
                kind=sql.SQL(kinds[kind]),
                schema=sql.Identifier(SCHEMA),
                name=sql.Identifier(name),
                owner=owner,
            ),
        )
    cursor.execute(
        """
        SELECT p.oid::regprocedure::text FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %s AND pg_get_userbyid(p.proowner) <> %s
        """,
        [SCHEMA, roles.owner],
    )
    for (signature,) in cursor.fetchall():
        # regprocedure text is already quoted where it needs to be ("public.f(integer)").
        _exec(cursor, sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(sql.SQL(signature), owner))


def provision(cursor: Any, *, roles: Roles) -> None:
    """Grant the app role what it needs on the current database, and nothing more. Run as the
    owner (after `migrate`) or as a superuser. Idempotent."""
    owner, app, schema = (
        sql.Identifier(roles.owner),
        sql.Identifier(roles.app),
        sql.Identifier(SCHEMA),
    )
    cursor.execute("SELECT current_database()")
    database = sql.Identifier(cursor.fetchone()[0])
    statements = [
        # Nobody else creates objects in the schema the app runs in.
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(schema),
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, app),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, app),
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(schema, app),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(
            sql.SQL(APP_TABLE_PRIVILEGES), schema, app
        ),
        sql.SQL("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {} FROM {}").format(
            schema, app
        ),
        # USAGE is nextval(), all that inserts need; SELECT would only add currval/last_value.
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, app),
        # Tables and sequences a later migration creates (as the owner) get the same rights.
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON TABLES TO {}"
        ).format(owner, schema, sql.SQL(APP_TABLE_PRIVILEGES), app),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT USAGE ON SEQUENCES TO {}"
        ).format(owner, schema, app),
    ]
    for statement in statements:
        _exec(cursor, statement)
    for table, kept in [(t, "SELECT, INSERT") for t in APPEND_ONLY_TABLES] + [
        (t, "SELECT") for t in READ_ONLY_TABLES
    ]:
        # A partitioned table's partitions too (the audit trail is split by month): the grant
        # on ALL TABLES above reached them, and a partition can be written to by its own name.
        for name in _table_and_partitions(cursor, table):
            qualified = sql.SQL("{}.{}").format(schema, sql.Identifier(name))
            _exec(cursor, sql.SQL("REVOKE ALL ON {} FROM {}").format(qualified, app))
            _exec(cursor, sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(kept), qualified, app))


def _table_and_partitions(cursor: Any, table: str) -> list[str]:
    """`table` and every partition under it; nothing if the table does not exist."""
    # pg_partition_tree lists nothing for a table that is not partitioned.
    cursor.execute(
        """
        SELECT relname FROM pg_class WHERE oid = to_regclass(%(table)s)
        UNION
        SELECT c.relname FROM pg_partition_tree(to_regclass(%(table)s)) AS tree
        JOIN pg_class c ON c.oid = tree.relid
        """,
        {"table": f"{SCHEMA}.{table}"},
    )
    return [name for (name,) in cursor.fetchall()]
