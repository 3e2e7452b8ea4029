"""Validation status and findings of reads.

Revision ID: 0012_read_validation
Revises: 0011_modbus
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_read_validation"
down_revision: str | None = "0011_modbus"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
QUANTITY = sa.Numeric(18, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


READ_STATUS = sa.Enum(
    "pending", "valid", "held", "replaced", "rejected",
    name="readstatus", native_enum=False, length=20,
)
FINDING_SEVERITY = sa.Enum("hold", "note", name="findingseverity", native_enum=False, length=20)
FINDING_STATUS = sa.Enum(
    "open", "accepted", "overridden", name="findingstatus", native_enum=False, length=20
)


def upgrade() -> None:
    # Reads already on file were billed without validation, so they start valid; the
    # server default keeps inserts that name no status (seeding, old code) valid too.
    with op.batch_alter_table("reads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", READ_STATUS, nullable=False, server_default="valid")
        )
        batch_op.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reads_replaced_by_id_reads"), "reads", ["replaced_by_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_reads_status"), ["status"], unique=False)

    op.create_table(
        "read_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_key", sa.String(length=120), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("read_id", sa.Integer(), nullable=True),
        sa.Column("interval_start_at", UTC_INSTANT, nullable=True),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("severity", FINDING_SEVERITY, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("measured", QUANTITY, nullable=True),
        sa.Column("threshold", QUANTITY, nullable=True),
        sa.Column("status", FINDING_STATUS, nullable=False),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("resolved_at", UTC_INSTANT, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["read_id"], ["reads.id"], name=op.f("fk_read_findings_read_id_reads")
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"],
            name=op.f("fk_read_findings_register_id_registers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_findings")),
        sa.UniqueConstraint("finding_key", name=op.f("uq_read_findings_finding_key")),
    )
    with op.batch_alter_table("read_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_read_findings_read_id"), ["read_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_read_findings_register_id"), ["register_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("read_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_read_findings_register_id"))
        batch_op.drop_index(batch_op.f("ix_read_findings_read_id"))
    op.drop_table("read_findings")
    with op.batch_alter_table("reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reads_status"))
        batch_op.drop_constraint(batch_op.f("fk_reads_replaced_by_id_reads"), type_="foreignkey")
        batch_op.drop_column("replaced_by_id")
        batch_op.drop_column("status")
