"""Foundation schema: accounts, premises, meters, reads, tariffs, bills, ledger, audit.

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-12-04 19:51:38.616740
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Exact decimals: NUMERIC on PostgreSQL, integers scaled by 10**scale on SQLite (cents for
# money, millionths for quantities), matching app.db.ScaledDecimal.
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")
QUANTITY = sa.Numeric(18, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', UTC_INSTANT, nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=80), nullable=True),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('billing_cycles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_cycles')),
    sa.UniqueConstraint('code', name=op.f('uq_billing_cycles_code'))
    )
    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('person', 'organization', name='customerkind', native_enum=False, length=20), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_table('journal_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('bill', 'payment', 'adjustment', 'fee', 'deposit', 'refund', 'return', 'write_off', 'reversal', name='entrykind', native_enum=False, length=20), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('posted_at', UTC_INSTANT, nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reverses_id'], ['journal_entries.id'], name=op.f('fk_journal_entries_reverses_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('entry_key', name=op.f('uq_journal_entries_entry_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_journal_entries_reverses_id'))
    )
    op.create_table('ledger_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('asset', 'liability', 'revenue', 'expense', 'equity', name='ledgeraccountkind', native_enum=False, length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_accounts_code'))
    )
    op.create_table('meters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('model', sa.String(length=80), nullable=True),
    sa.Column('size', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meters')),
    sa.UniqueConstraint('serial', name=op.f('uq_meters_serial'))
    )
    op.create_table('read_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=260), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_format', sa.String(length=20), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('imported_at', UTC_INSTANT, nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_stored', sa.Integer(), nullable=False),
    sa.Column('rows_failed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_read_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_read_imports_sha256'))
    )
    op.create_table('tariffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariffs')),
    sa.UniqueConstraint('code', name=op.f('uq_tariffs_code'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=12), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'closed', name='accountstatus', native_enum=False, length=20), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_accounts_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('number', name=op.f('uq_accounts_number'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_customer_id'), ['customer_id'], unique=False)

    op.create_table('bill_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('running', 'completed', name='billrunstatus', native_enum=False, length=20), nullable=False),
    sa.Column('started_at', UTC_INSTANT, nullable=False),
    sa.Column('finished_at', UTC_INSTANT, nullable=True),
    sa.Column('started_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['billing_cycles.id'], name=op.f('fk_bill_runs_cycle_id_billing_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_runs')),
    sa.UniqueConstraint('cycle_id', 'period_start', name=op.f('uq_bill_runs_cycle_id_period_start'))
    )
    op.create_table('premises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('zip_code', sa.String(length=10), nullable=False),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('route_sequence', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['billing_cycles.id'], name=op.f('fk_premises_cycle_id_billing_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_premises'))
    )
    with op.batch_alter_table('premises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premises_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_premises_zip_code'), ['zip_code'], unique=False)

    op.create_table('read_import_errors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['read_imports.id'], name=op.f('fk_read_import_errors_import_id_read_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_read_import_errors')),
    sa.UniqueConstraint('import_id', 'line_number', name=op.f('uq_read_import_errors_import_id_line_number'))
    )
    with op.batch_alter_table('read_import_errors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_read_import_errors_import_id'), ['import_id'], unique=False)

    op.create_table('registers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('multiplier', QUANTITY, nullable=False),
    sa.Column('dials', sa.Integer(), nullable=True),
    sa.Column('interval', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_registers_meter_id_meters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registers')),
    sa.UniqueConstraint('meter_id', 'code', name=op.f('uq_registers_meter_id_code'))
    )
    with op.batch_alter_table('registers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registers_meter_id'), ['meter_id'], unique=False)

    op.create_table('tariff_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_tariff_versions_tariff_id_tariffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_versions')),
    sa.UniqueConstraint('tariff_id', 'effective_from', name=op.f('uq_tariff_versions_tariff_id_effective_from'))
    )
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariff_versions_tariff_id'), ['tariff_id'], unique=False)

    op.create_table('bills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('bill_run_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('total', MONEY, nullable=False),
    sa.Column('journal_entry_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bills_account_id_accounts')),
    sa.ForeignKeyConstraint(['bill_run_id'], ['bill_runs.id'], name=op.f('fk_bills_bill_run_id_bill_runs')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_bills_journal_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bills')),
    sa.UniqueConstraint('bill_run_id', 'account_id', name=op.f('uq_bills_bill_run_id_account_id')),
    sa.UniqueConstraint('journal_entry_id', name=op.f('uq_bills_journal_entry_id'))
    )
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bills_account_id'), ['account_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('phone', 'email', name='contactkind', native_enum=False, length=20), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('verified_at', UTC_INSTANT, nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contacts_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('account_id', 'kind', 'value', name=op.f('uq_contacts_account_id_kind_value'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_value'), ['value'], unique=False)

    op.create_table('interval_reads',
    sa.Column('register_id', sa.Integer(), nullable=False),
    sa.Column('start_at', UTC_INSTANT, nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('value', QUANTITY, nullable=False),
    sa.Column('quality', sa.String(length=20), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['read_imports.id'], name=op.f('fk_interval_reads_import_id_read_imports')),
    sa.ForeignKeyConstraint(['register_id'], ['registers.id'], name=op.f('fk_interval_reads_register_id_registers')),
    sa.PrimaryKeyConstraint('register_id', 'start_at', name=op.f('pk_interval_reads'))
    )
    op.create_table('meter_installations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('premise_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], name=op.f('fk_meter_installations_meter_id_meters')),
    sa.ForeignKeyConstraint(['premise_id'], ['premises.id'], name=op.f('fk_meter_installations_premise_id_premises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_installations'))
    )
    with op.batch_alter_table('meter_installations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_installations_meter_id'), ['meter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meter_installations_premise_id'), ['premise_id'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('ledger_account_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('amount', MONEY, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_postings_account_id_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_postings_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['ledger_account_id'], ['ledger_accounts.id'], name=op.f('fk_postings_ledger_account_id_ledger_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_entry_id'), ['entry_id'], unique=False)

    op.create_table('reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('register_id', sa.Integer(), nullable=False),
    sa.Column('read_key', sa.String(length=32), nullable=False),
    sa.Column('read_date', sa.Date(), nullable=False),
    sa.Column('read_at', UTC_INSTANT, nullable=True),
    sa.Column('value', QUANTITY, nullable=False),
    sa.Column('read_type', sa.Enum('actual', 'estimated', 'customer', 'final', name='readtype', native_enum=False, length=20), nullable=False),
    sa.Column('quality', sa.Enum('good', 'suspect', name='readquality', native_enum=False, length=20), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['read_imports.id'], name=op.f('fk_reads_import_id_read_imports')),
    sa.ForeignKeyConstraint(['register_id'], ['registers.id'], name=op.f('fk_reads_register_id_registers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reads')),
    sa.UniqueConstraint('register_id', 'read_key', name=op.f('uq_reads_register_id_read_key'))
    )
    op.create_index('ix_reads_register_id_read_date', 'reads', ['register_id', 'read_date'])
    op.create_table('service_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('premise_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.Enum('water', 'sewer', 'trash', 'electric', 'gas', name='servicetype', native_enum=False, length=20), nullable=False),
    sa.Column('tariff_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.CheckConstraint('end_date IS NULL OR end_date > start_date', name=op.f('ck_service_agreements_dates_ordered')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_service_agreements_account_id_accounts')),
    sa.ForeignKeyConstraint(['premise_id'], ['premises.id'], name=op.f('fk_service_agreements_premise_id_premises')),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_service_agreements_tariff_id_tariffs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_agreements'))
    )
    with op.batch_alter_table('service_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_agreements_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_agreements_premise_id'), ['premise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_agreements_tariff_id'), ['tariff_id'], unique=False)

    op.create_table('bill_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('service_agreement_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', QUANTITY, nullable=True),
    sa.Column('unit', sa.String(length=10), nullable=True),
    sa.Column('amount', MONEY, nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_bill_lines_bill_id_bills')),
    sa.ForeignKeyConstraint(['service_agreement_id'], ['service_agreements.id'], name=op.f('fk_bill_lines_service_agreement_id_service_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_lines'))
    )
    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_lines_bill_id'), ['bill_id'], unique=False)

    op.create_table('bill_meter_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('service_agreement_id', sa.Integer(), nullable=False),
    sa.Column('meter_serial', sa.String(length=40), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('start_value', QUANTITY, nullable=True),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('end_value', QUANTITY, nullable=True),
    sa.Column('consumption', QUANTITY, nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_bill_meter_segments_bill_id_bills')),
    sa.ForeignKeyConstraint(['service_agreement_id'], ['service_agreements.id'], name=op.f('fk_bill_meter_segments_service_agreement_id_service_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_meter_segments'))
    )
    with op.batch_alter_table('bill_meter_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_meter_segments_bill_id'), ['bill_id'], unique=False)

    op.create_table('bill_run_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_run_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('service_agreement_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_INSTANT, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bill_run_exceptions_account_id_accounts')),
    sa.ForeignKeyConstraint(['bill_run_id'], ['bill_runs.id'], name=op.f('fk_bill_run_exceptions_bill_run_id_bill_runs')),
    sa.ForeignKeyConstraint(['service_agreement_id'], ['service_agreements.id'], name=op.f('fk_bill_run_exceptions_service_agreement_id_service_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_run_exceptions')),
    sa.UniqueConstraint('bill_run_id', 'account_id', name=op.f('uq_bill_run_exceptions_bill_run_id_account_id'))
    )
    with op.batch_alter_table('bill_run_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bill_run_exceptions_bill_run_id'), ['bill_run_id'], unique=False)
    _create_ledger_guards()


LEDGER_TABLES = ("journal_entries", "postings")


def _create_ledger_guards() -> None:
    """Make the ledger append-only, and on PostgreSQL check each entry balances at commit."""
    dialect = op.get_bind().dialect.name
    for table in LEDGER_TABLES:
        if dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} are immutable: post a reversing entry'); "
                    "END"
                )
        else:
            op.execute(
                f"""
                CREATE FUNCTION {table}_immutable() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION '{table} are immutable: post a reversing entry';
                END $$ LANGUAGE plpgsql
                """
            )
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_immutable()"
            )
    if dialect != "sqlite":
        op.execute(
            """
            CREATE FUNCTION postings_balanced() RETURNS trigger AS $$
            DECLARE imbalance numeric;
            BEGIN
                SELECT COALESCE(SUM(amount), 0) INTO imbalance
                FROM postings WHERE entry_id = NEW.entry_id;
                IF imbalance <> 0 THEN
                    RAISE EXCEPTION 'journal entry % does not balance: postings sum to %',
                        NEW.entry_id, imbalance;
                END IF;
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION postings_balanced()"
        )


def _drop_ledger_guards() -> None:
    dialect = op.get_bind().dialect.name
    for table in LEDGER_TABLES:
        if dialect == "sqlite":
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_immutable()")
    if dialect != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS postings_balanced ON postings")
        op.execute("DROP FUNCTION IF EXISTS postings_balanced()")


def downgrade() -> None:
    _drop_ledger_guards()
    with op.batch_alter_table('bill_run_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_run_exceptions_bill_run_id'))

    op.drop_table('bill_run_exceptions')
    with op.batch_alter_table('bill_meter_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_meter_segments_bill_id'))

    op.drop_table('bill_meter_segments')
    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bill_lines_bill_id'))

    op.drop_table('bill_lines')
    with op.batch_alter_table('service_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_agreements_tariff_id'))
        batch_op.drop_index(batch_op.f('ix_service_agreements_premise_id'))
        batch_op.drop_index(batch_op.f('ix_service_agreements_account_id'))

    op.drop_table('service_agreements')
    op.drop_index('ix_reads_register_id_read_date', table_name='reads')
    op.drop_table('reads')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_entry_id'))
        batch_op.drop_index(batch_op.f('ix_postings_account_id'))

    op.drop_table('postings')
    with op.batch_alter_table('meter_installations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_installations_premise_id'))
        batch_op.drop_index(batch_op.f('ix_meter_installations_meter_id'))

    op.drop_table('meter_installations')
    op.drop_table('interval_reads')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_value'))
        batch_op.drop_index(batch_op.f('ix_contacts_account_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bills_account_id'))

    op.drop_table('bills')
    with op.batch_alter_table('tariff_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tariff_versions_tariff_id'))

    op.drop_table('tariff_versions')
    with op.batch_alter_table('registers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registers_meter_id'))

    op.drop_table('registers')
    with op.batch_alter_table('read_import_errors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_read_import_errors_import_id'))

    op.drop_table('read_import_errors')
    with op.batch_alter_table('premises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premises_zip_code'))
        batch_op.drop_index(batch_op.f('ix_premises_cycle_id'))

    op.drop_table('premises')
    op.drop_table('bill_runs')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_customer_id'))

    op.drop_table('accounts')
    op.drop_table('tariffs')
    op.drop_table('read_imports')
    op.drop_table('meters')
    op.drop_table('ledger_accounts')
    op.drop_table('journal_entries')
    op.drop_table('customers')
    op.drop_table('billing_cycles')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))

    op.drop_table('audit_events')
