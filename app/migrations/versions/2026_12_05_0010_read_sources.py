"""Meter flags: leak, burst, dry and backflow conditions reported by meters.

Revision ID: 0010_read_sources
Revises: 0009_calls
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_read_sources"
down_revision: str | None = "0009_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meter_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.Column("flag", sa.String(length=40), nullable=False),
        sa.Column("flagged_at", UTC_INSTANT, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_meter_flags_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_meter_flags_register_id_registers")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["read_imports.id"], name=op.f("fk_meter_flags_import_id_read_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_flags")),
        sa.UniqueConstraint(
            "meter_id", "flag", "flagged_at", name=op.f("uq_meter_flags_meter_id_flag_flagged_at")
        ),
    )
    with op.batch_alter_table("meter_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meter_flags_flag_flagged_at", ["flag", "flagged_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_meter_flags_import_id"), ["import_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meter_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_flags_import_id"))
        batch_op.drop_index("ix_meter_flags_flag_flagged_at")
    op.drop_table("meter_flags")
