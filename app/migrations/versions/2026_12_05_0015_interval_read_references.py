"""Check the references of interval reads once per statement, not once per row.

A foreign key on PostgreSQL runs one lookup and one row lock per inserted row. On
``interval_reads``, the largest table, its two foreign keys took about 70% of the time of
a bulk import (see "Interval read ingest" in docs/benchmarks.md). This migration
replaces them with triggers that keep the same guarantees:

* PostgreSQL: one statement-level trigger per insert or update looks up the distinct
  registers and imports of the new rows at once, and locks them ``FOR KEY SHARE`` as a
  foreign key would.
* SQLite: row-level triggers, the only kind SQLite has.
* On both, a register or read import that interval reads name cannot be deleted, and
  its id cannot change.

Revision ID: 0015_interval_read_references
Revises: 0014_leaks
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_interval_read_references"
down_revision: str | None = "0014_leaks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEYS = {
    "fk_interval_reads_register_id_registers": ("register_id", "registers"),
    "fk_interval_reads_import_id_read_imports": ("import_id", "read_imports"),
}

_POSTGRES_CHECK = """
CREATE FUNCTION interval_reads_check_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing integer;
BEGIN
    PERFORM 1 FROM registers
    WHERE id IN (SELECT DISTINCT register_id FROM new_rows) FOR KEY SHARE;
    SELECT DISTINCT new_rows.register_id INTO missing FROM new_rows
    WHERE NOT EXISTS (SELECT 1 FROM registers WHERE registers.id = new_rows.register_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'interval read names register %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM 1 FROM read_imports
    WHERE id IN (SELECT DISTINCT import_id FROM new_rows) FOR KEY SHARE;
    SELECT DISTINCT new_rows.import_id INTO missing FROM new_rows
    WHERE new_rows.import_id IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM read_imports WHERE read_imports.id = new_rows.import_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'interval read names read import %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$
"""

_POSTGRES_GUARD = """
CREATE FUNCTION interval_reads_guard_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM interval_reads WHERE {column} = OLD.id) THEN
        RAISE EXCEPTION '{noun} % has interval reads, so it cannot be deleted or renumbered',
            OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$
"""

_NOUNS = {"registers": "register", "read_imports": "read import"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in _FOREIGN_KEYS:
            op.drop_constraint(name, "interval_reads", type_="foreignkey")
        op.execute(_POSTGRES_CHECK)
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER interval_reads_references_{event.lower()} AFTER {event} "
                "ON interval_reads REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                "EXECUTE FUNCTION interval_reads_check_references()"
            )
        for column, table in _FOREIGN_KEYS.values():
            op.execute(_POSTGRES_GUARD.format(table=table, column=column, noun=_NOUNS[table]))
            op.execute(
                f"CREATE TRIGGER interval_reads_guard BEFORE DELETE OR UPDATE OF id ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION interval_reads_guard_{table}()"
            )
        return
    with op.batch_alter_table("interval_reads") as batch:
        for name in _FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")
    for column, table in _FOREIGN_KEYS.values():
        condition = f"NEW.{column} IS NOT NULL AND " if column == "import_id" else ""
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER interval_reads_{column}_{event.lower()} BEFORE {event} "
                f"ON interval_reads FOR EACH ROW WHEN {condition}NOT EXISTS "
                f"(SELECT 1 FROM {table} WHERE id = NEW.{column}) BEGIN "
                f"SELECT RAISE(ABORT, 'interval read names a {_NOUNS[table]} that does not "
                "exist'); END"
            )
        op.execute(
            f"CREATE TRIGGER interval_reads_guard_{table} BEFORE DELETE ON {table} "
            "FOR EACH ROW WHEN EXISTS "
            f"(SELECT 1 FROM interval_reads WHERE {column} = OLD.id) BEGIN "
            f"SELECT RAISE(ABORT, '{_NOUNS[table]} has interval reads, so it cannot be "
            "deleted'); END"
        )
        op.execute(
            f"CREATE TRIGGER interval_reads_renumber_{table} BEFORE UPDATE OF id ON {table} "
            "FOR EACH ROW WHEN NEW.id <> OLD.id AND EXISTS "
            f"(SELECT 1 FROM interval_reads WHERE {column} = OLD.id) BEGIN "
            f"SELECT RAISE(ABORT, '{_NOUNS[table]} has interval reads, so it cannot be "
            "renumbered'); END"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column, table in _FOREIGN_KEYS.values():
        if postgres:
            op.execute(f"DROP TRIGGER interval_reads_guard ON {table}")
            op.execute(f"DROP FUNCTION interval_reads_guard_{table}()")
        else:
            op.execute(f"DROP TRIGGER interval_reads_guard_{table}")
            op.execute(f"DROP TRIGGER interval_reads_renumber_{table}")
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER interval_reads_{column}_{event}")
    if postgres:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER interval_reads_references_{event} ON interval_reads")
        op.execute("DROP FUNCTION interval_reads_check_references()")
        for name, (column, table) in _FOREIGN_KEYS.items():
            op.create_foreign_key(name, "interval_reads", table, [column], ["id"])
        return
    with op.batch_alter_table("interval_reads") as batch:
        for name, (column, table) in _FOREIGN_KEYS.items():
            batch.create_foreign_key(name, table, [column], ["id"])
