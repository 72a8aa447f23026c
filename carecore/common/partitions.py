"""Monthly range partitions for the tables that grow without bound (docs/scaling.md, "Growing
tables"): messages, audit events, notification rows and real-time events.

Plain PostgreSQL declarative partitioning, no extension and no third-party package:

- Each table is `PARTITION BY RANGE (<its timestamp>)` with one partition per calendar month in
  UTC, named `<table>_pYYYY_MM`, bounds written as explicit UTC literals
  (`FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00')`), and a `<table>_default`
  partition that catches anything outside them, so an insert never fails for want of a month.
- Partitions are created by one SQL function, `carecore_month_partition(table, month)`, owned
  by the owner role and `SECURITY DEFINER`: the beat task runs as the app role, which may not
  create tables, and the function gives each new partition exactly the parent's grants (the
  audit trail's partitions stay SELECT/INSERT-only for the app, like their parent).
- Beat runs `ensure_partitions_ahead` (this month and the next three) and
  `check_default_partitions`, which logs an ERROR (the alert) while any default partition holds
  rows: they mean a month was missing when the row arrived, and that month cannot be created
  until the rows are moved (the runbook is in docs/scaling.md).

Migrations convert a table with `convert_to_monthly_partitions` (and back with
`convert_to_plain_table`): they import this module, so keep its functions' behaviour stable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

MONTHS_AHEAD = 3
SCHEMA = "public"

# Installed (CREATE OR REPLACE) by every migration that partitions a table.
FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION carecore_copy_grants(source regclass, target regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    grant_row record;
BEGIN
    -- Whatever the creator's default privileges handed out goes first ...
    FOR grant_row IN
        SELECT DISTINCT acl.grantee FROM pg_class c, aclexplode(c.relacl) acl
        WHERE c.oid = target AND acl.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', target,
            CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC'
                 ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END);
    END LOOP;
    -- ... then the target gets exactly the source's grants.
    FOR grant_row IN
        SELECT acl.grantee, acl.privilege_type FROM pg_class c, aclexplode(c.relacl) acl
        WHERE c.oid = source AND acl.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %s TO %s', grant_row.privilege_type, target,
            CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC'
                 ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END);
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION carecore_month_partition(parent regclass, month date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET "TimeZone" = 'UTC' AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    parent_name text;
    parent_schema text;
    partition_name text;
BEGIN
    SELECT c.relname, n.nspname INTO parent_name, parent_schema
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = parent AND c.relkind = 'p';
    IF parent_name IS NULL THEN
        RAISE EXCEPTION '% is not a partitioned table', parent;
    END IF;
    -- Callable by the app role: keep it from creating partitions for absurd months.
    IF first_day < date '2000-01-01' OR first_day > (now() + interval '2 years')::date THEN
        RAISE EXCEPTION 'no partition for month % (out of range)', first_day;
    END IF;
    -- Two beats (or a beat and a migration) creating the same month: one waits, then sees it.
    PERFORM pg_advisory_xact_lock(hashtext('carecore_month_partition'), parent::oid::integer);
    partition_name := parent_name || '_p' || to_char(first_day, 'YYYY_MM');
    IF to_regclass(format('%I.%I', parent_schema, partition_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
        parent_schema, partition_name, parent,
        to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00',
        to_char(first_day + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
    PERFORM public.carecore_copy_grants(
        parent, format('%I.%I', parent_schema, partition_name)::regclass);
    RETURN true;
END;
$$;

-- Foreign keys cannot point at a partitioned table by `id` alone (its unique keys must contain
-- the partition key), so the references into one are checked by these constraint triggers,
-- deferred to commit like Django's foreign keys. Referencing side: the row must exist.
CREATE OR REPLACE FUNCTION carecore_reference_exists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- TG_ARGV: referencing column, referenced table, referenced column. The referencing table's
    -- primary key is `id`.
    current_value text;
    changed_since boolean;
    found_one integer;
BEGIN
    -- The row as it is now, as a foreign key checks it: deferred to commit, the row may have
    -- been updated again (its later event checks that value) or deleted since.
    EXECUTE format('SELECT r.%I::text FROM %s r WHERE r.id = ($1).id',
                   TG_ARGV[0], TG_RELID::regclass)
        USING NEW INTO current_value;
    EXECUTE format('SELECT $2 IS DISTINCT FROM ($1).%I::text', TG_ARGV[0])
        USING NEW, current_value INTO changed_since;
    IF current_value IS NULL OR changed_since THEN
        RETURN NULL;
    END IF;
    -- FOR KEY SHARE, as a real foreign key does: a concurrent delete of the row waits for us.
    EXECUTE format('SELECT 1 FROM %s WHERE %I = ($1).%I FOR KEY SHARE',
                   TG_ARGV[1], TG_ARGV[2], TG_ARGV[0])
        USING NEW INTO found_one;
    IF found_one IS NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates reference %.% -> %.%',
            TG_TABLE_NAME, TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;

-- Referenced side: a row still referenced may not go (NO ACTION; Django's collector deletes or
-- nulls the referencing rows first, in the same transaction).
CREATE OR REPLACE FUNCTION carecore_reference_unused() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- TG_ARGV: referenced column, then pairs of referencing table and column
    found boolean;
    i integer := 1;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        EXECUTE format('SELECT ($1).%I IS NOT DISTINCT FROM ($2).%I', TG_ARGV[0], TG_ARGV[0])
            USING OLD, NEW INTO found;
        IF found THEN
            RETURN NULL;
        END IF;
    END IF;
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = ($1).%I)',
                       TG_ARGV[i], TG_ARGV[i + 1], TG_ARGV[0])
            USING OLD INTO found;
        IF found THEN
            RAISE EXCEPTION 'delete or update on table "%" violates reference %.% -> %.%',
                TG_TABLE_NAME, TG_ARGV[i], TG_ARGV[i + 1], TG_TABLE_NAME, TG_ARGV[0]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NULL;
END;
$$;
"""


def reference_check_sql(
    *, table: str, column: str, referenced: str, keyed_by: tuple[str, str] | None = None
) -> list[str]:
    """The referencing side of a reference into a partitioned table, as its own trigger function
    with static SQL, replacing `carecore_reference_exists` on trigger `<table>_<column>_exists`.

    Same checks, same error. The generic function builds its three statements with EXECUTE, so
    PostgreSQL planned them on every row it checked, the look-up in the partitioned table over
    every partition (pruning cannot help: `id` is not the partition key): 0.3 ms of planning
    per write, more each month. PL/pgSQL keeps the plans of static statements for the session
    (docs/scaling.md, "References into partitioned tables").

    `keyed_by`, (a column of `table`, the partition key of `referenced`): the referenced row
    must also have that key. The pair is then held in step by the database, readers can look the
    row up in its own month's partition, and so can this check (by id alone it probes every
    month's index); the trigger also runs when the key column changes."""
    function = _reference_function(table, column)
    key_column, referenced_key = keyed_by if keyed_by else (None, None)
    if key_column:
        declare_key = f"\n    current_key {table}.{key_column}%TYPE;"
        read = f"r.{column}, r.{key_column} INTO current_value, current_key"
        moved = f" OR current_key IS DISTINCT FROM NEW.{key_column}"
        same_key = f" AND {referenced_key} = current_key"
        reference = f"{table}.({column}, {key_column}) -> {referenced}.(id, {referenced_key})"
    else:
        declare_key = moved = same_key = ""
        read = f"r.{column} INTO current_value"
        reference = f"{table}.{column} -> {referenced}.id"
    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_value {table}.{column}%TYPE;{declare_key}
BEGIN
    -- The row as it is now, as a foreign key checks it: deferred to commit, the row may have
    -- been updated again (its later event checks that value) or deleted since.
    SELECT {read} FROM {table} r WHERE r.id = NEW.id;
    IF current_value IS NULL OR current_value IS DISTINCT FROM NEW.{column}{moved} THEN
        RETURN NULL;
    END IF;
    -- FOR KEY SHARE, as a real foreign key does: a concurrent delete of the row waits for us.
    PERFORM 1 FROM {referenced} WHERE id = current_value{same_key} FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "{table}" violates reference '
            '{reference}'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$""",  # noqa: S608  # nosec B608 - names are ours
        f"DROP TRIGGER {table}_{column}_exists ON {table}",
        _reference_trigger(table, column, f"{function}()", also_on=key_column),
    ]


def generic_reference_check_sql(*, table: str, column: str, referenced: str) -> list[str]:
    """`reference_check_sql` undone: the trigger calls the generic function again."""
    return [
        f"DROP TRIGGER {table}_{column}_exists ON {table}",
        _reference_trigger(
            table, column, f"carecore_reference_exists('{column}', '{referenced}', 'id')"
        ),
        f"DROP FUNCTION {_reference_function(table, column)}()",
    ]


def _reference_function(table: str, column: str) -> str:
    return f"carecore_{table}_{column}_exists"


def _reference_trigger(table: str, column: str, call: str, also_on: str | None = None) -> str:
    columns = f"{column}, {also_on}" if also_on else column
    return f"""CREATE CONSTRAINT TRIGGER {table}_{column}_exists
        AFTER INSERT OR UPDATE OF {columns} ON {table} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION {call}"""


def month_start(moment: datetime | date) -> date:
    """The first day of the UTC month `moment` falls in."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


def partitioned_tables(cursor: Any) -> list[str]:
    """Every range-partitioned table in the schema (the ones converted by a migration)."""
    cursor.execute(
        """
        SELECT c.relname FROM pg_partitioned_table p
        JOIN pg_class c ON c.oid = p.partrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND p.partstrat = 'r' AND NOT c.relispartition
        ORDER BY c.relname
        """,
        [SCHEMA],
    )
    return [name for (name,) in cursor.fetchall()]


def create_month_partitions(cursor: Any, table: str, months: Iterable[date]) -> list[str]:
    """Create the partitions of `table` for `months` that do not exist yet; their names."""
    created = []
    for month in sorted(set(months)):
        cursor.execute("SELECT carecore_month_partition(%s::regclass, %s)", [table, month])
        if cursor.fetchone()[0]:
            created.append(partition_name(table, month))
    return created


def ensure_partitions_ahead(*, now: datetime | None = None) -> list[str]:
    """This month's partition and the next MONTHS_AHEAD months' for every partitioned table
    (idempotent: existing ones are left alone). Returns the names created."""
    this_month = month_start(now or timezone.now())
    months = [add_months(this_month, ahead) for ahead in range(MONTHS_AHEAD + 1)]
    created = []
    with connection.cursor() as cursor:
        for table in partitioned_tables(cursor):
            for month in months:
                try:
                    with transaction.atomic():
                        created += create_month_partitions(cursor, table, [month])
                except DatabaseError as error:
                    # Rows of that month in the default partition make PostgreSQL refuse it
                    # (the default-partition alert says so); every other month still comes.
                    logger.error(
                        "partitions: cannot create %s (%s)",
                        partition_name(table, month),
                        type(error).__name__,
                    )
    for name in created:
        logger.info("partitions: created %s", name)
    return created


def default_partition_rows(*, limit: int = 1000) -> dict[str, int]:
    """Rows in each table's default partition (counted up to `limit`), for tables that have any."""
    found = {}
    with connection.cursor() as cursor:
        for table in partitioned_tables(cursor):
            cursor.execute(
                f'SELECT count(*) FROM (SELECT 1 FROM "{SCHEMA}"."{table}_default" LIMIT %s) r',  # noqa: S608  # nosec B608 - names are ours
                [limit],
            )
            rows = cursor.fetchone()[0]
            if rows:
                found[table] = rows
    return found


def check_default_partitions() -> dict[str, int]:
    """The alert: an ERROR log line per table whose default partition holds rows."""
    found = default_partition_rows()
    for table, rows in found.items():
        logger.error(
            "partitions: %s rows in %s_default: a month partition is missing "
            "(docs/scaling.md, 'Rows in a default partition')",
            rows,
            table,
        )
    return found


# --- migrations -------------------------------------------------------------------------------


def _foreign_keys_out(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        """
        SELECT format('ALTER TABLE %%I ADD CONSTRAINT %%I %%s', %s::text, conname,
                      pg_get_constraintdef(oid))
        FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
        """,
        [table, table],
    )
    return [statement for (statement,) in cursor.fetchall()]


def _plain_indexes(cursor: Any, table: str) -> list[str]:
    """CREATE INDEX statements of the table's non-unique indexes (unique ones are redesigned by
    each migration: on a partitioned table they must contain the partition key)."""
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT i.indisunique ORDER BY 1
        """,
        [table],
    )
    # A partitioned table's index definition reads "ON ONLY table"; the new table takes it whole.
    return [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]


def _drop_foreign_keys_in(cursor: Any, table: str, expected: Sequence[tuple[str, str]]) -> None:
    """Drop the foreign keys pointing at `table`: the migration replaces each with reference
    triggers. One not in `expected` (table, constraint-column) stops the migration, so a
    reference added later is never dropped unguarded."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.conname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.confrelid = %s::regclass AND c.contype = 'f' AND c.conrelid <> c.confrelid
        """,
        [table],
    )
    for referencing, column, constraint in cursor.fetchall():
        if (referencing, column) not in expected:
            raise RuntimeError(f"{referencing}.{column} references {table}: not handled")
        cursor.execute(f'ALTER TABLE "{referencing}" DROP CONSTRAINT "{constraint}"')


def _identity_columns(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        """
        SELECT attname FROM pg_attribute
        WHERE attrelid = %s::regclass AND attidentity <> '' AND NOT attisdropped
        """,
        [table],
    )
    return [name for (name,) in cursor.fetchall()]


def _copy_grants(cursor: Any, *, source: str, target: str) -> None:
    cursor.execute("SELECT carecore_copy_grants(%s::regclass, %s::regclass)", [source, target])


def _last_values(cursor: Any, table: str, columns: Sequence[str]) -> dict[str, int]:
    """The last number each identity column's sequence handed out (0 if none yet)."""
    values = {}
    for column in columns:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")  # noqa: S608  # nosec B608 - names are ours
        values[column] = cursor.fetchone()[0]
    return values


def _swap_in(cursor: Any, *, table: str, new: str) -> None:
    """Drop `table`, give `new` its name (and its identity sequences theirs, going on from the
    old ones: ids are never handed out twice, even those of rows deleted since)."""
    identities = _identity_columns(cursor, new)
    last_values = _last_values(cursor, table, identities)
    cursor.execute(f'DROP TABLE "{table}"')
    cursor.execute(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for column in identities:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        sequence = cursor.fetchone()[0]
        cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{table}_{column}_seq"')
        cursor.execute(
            f'SELECT setval(%(seq)s, GREATEST(%(last)s, max("{column}"), 1), '  # noqa: S608  # nosec B608 - names are ours
            f'GREATEST(%(last)s, max("{column}")) > 0) FROM "{table}"',
            {"seq": f"{table}_{column}_seq", "last": last_values[column]},
        )


def convert_to_monthly_partitions(
    schema_editor: Any,
    *,
    table: str,
    column: str,
    references_in: Sequence[tuple[str, str]] = (),
    after: Sequence[str] = (),
) -> None:
    """Turn `table` into a table partitioned by month on `column`, rows and all, in the
    migration's transaction: a new partitioned table (same columns, defaults, CHECKs), a
    partition for each month that has rows plus this month and MONTHS_AHEAD ahead, a default
    partition, the rows copied, the old table dropped and the new one renamed. Its foreign keys
    out and plain indexes are recreated as they were; `after` adds the primary key, unique
    constraints and triggers, which each migration redesigns around the partition key."""
    cursor = schema_editor.connection.cursor()
    new = f"{table}__partitioned"
    # Writers wait for the migration; nothing can be written between the copy and the swap.
    cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
    foreign_keys, indexes = _foreign_keys_out(cursor, table), _plain_indexes(cursor, table)
    cursor.execute(
        f'CREATE TABLE "{new}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING IDENTITY '
        f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION) "
        f'PARTITION BY RANGE ("{column}")'
    )
    _copy_grants(cursor, source=table, target=new)
    cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{new}" DEFAULT')
    _copy_grants(cursor, source=new, target=f"{table}_default")
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', \"{column}\" AT TIME ZONE 'UTC')::date "  # noqa: S608  # nosec B608 - names are ours
        f'FROM "{table}"'
    )
    this_month = month_start(timezone.now())
    months = {month for (month,) in cursor.fetchall() if date(2000, 1, 1) <= month}
    months |= {add_months(this_month, ahead) for ahead in range(MONTHS_AHEAD + 1)}
    months = {month for month in months if month <= add_months(this_month, 24)}
    create_month_partitions(cursor, new, months)
    _rename_partitions(cursor, new=new, table=table)
    cursor.execute(f'INSERT INTO "{new}" SELECT * FROM "{table}"')  # noqa: S608  # nosec B608 - names are ours
    _drop_foreign_keys_in(cursor, table, references_in)
    _swap_in(cursor, table=table, new=new)
    for statement in [*foreign_keys, *indexes, *after]:
        cursor.execute(statement)


def _rename_partitions(cursor: Any, *, new: str, table: str) -> None:
    # The function names partitions after their parent; they keep the final table's name.
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [new],
    )
    for (name,) in cursor.fetchall():
        if name.startswith(f"{new}_p"):
            cursor.execute(
                f'ALTER TABLE "{name}" RENAME TO "{table}_p{name.removeprefix(new + "_p")}"'
            )


def convert_to_plain_table(
    schema_editor: Any, *, table: str, after: Sequence[str] = (), before: Sequence[str] = ()
) -> None:
    """The reverse of `convert_to_monthly_partitions`: one plain table with every row. `before`
    runs first (drop the reference triggers), `after` last (primary key, unique constraints,
    triggers, foreign keys into the table)."""
    cursor = schema_editor.connection.cursor()
    new = f"{table}__plain"
    cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
    for statement in before:
        cursor.execute(statement)
    foreign_keys, indexes = _foreign_keys_out(cursor, table), _plain_indexes(cursor, table)
    cursor.execute(
        f'CREATE TABLE "{new}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING IDENTITY '
        f"INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)"
    )
    _copy_grants(cursor, source=table, target=new)
    cursor.execute(f'INSERT INTO "{new}" SELECT * FROM "{table}"')  # noqa: S608  # nosec B608 - names are ours
    _swap_in(cursor, table=table, new=new)
    for statement in [*foreign_keys, *indexes, *after]:
        cursor.execute(statement)
