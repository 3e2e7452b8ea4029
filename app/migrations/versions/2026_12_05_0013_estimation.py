"""Read estimation, true-up and gas heat factors.

Revision ID: 0013_estimation
Revises: 0012_read_validation
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_estimation"
down_revision: str | None = "0012_read_validation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
QUANTITY = sa.Numeric(18, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Gas heat factors (therms per CCF), per service and optionally per billing cycle.
    op.create_table(
        "heat_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("therms_per_ccf", QUANTITY, nullable=False),
        sa.Column("set_by", sa.String(length=80), nullable=False),
        sa.Column("set_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["billing_cycles.id"],
            name=op.f("fk_heat_factors_cycle_id_billing_cycles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heat_factors")),
        sa.UniqueConstraint(
            "service",
            "cycle_id",
            "effective_from",
            name=op.f("uq_heat_factors_service_cycle_id_effective_from"),
        ),
    )

    # The read type of each end of a billed segment, so a bill can say "estimated".
    with op.batch_alter_table("bill_meter_segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_read_type", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("end_read_type", sa.String(length=20), nullable=True))
        # Each bill run looks up the agreements' previous segments for the true-up.
        batch_op.create_index(
            batch_op.f("ix_bill_meter_segments_service_agreement_id"),
            ["service_agreement_id"],
            unique=False,
        )

    # The method of an estimated interval (quality "estimated"); NULL for a measured one.
    with op.batch_alter_table("interval_reads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimate_method", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interval_reads", schema=None) as batch_op:
        batch_op.drop_column("estimate_method")
    with op.batch_alter_table("bill_meter_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_meter_segments_service_agreement_id"))
        batch_op.drop_column("end_read_type")
        batch_op.drop_column("start_read_type")
    op.drop_table("heat_factors")
