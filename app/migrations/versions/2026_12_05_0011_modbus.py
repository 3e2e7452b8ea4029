"""Modbus devices polled for meter reads.

Revision ID: 0011_modbus
Revises: 0010_read_sources
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_modbus"
down_revision: str | None = "0010_read_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
QUANTITY = sa.Numeric(18, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "modbus_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("register_map", sa.String(length=60), nullable=False),
        sa.Column("byte_order", sa.String(length=4), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=60), nullable=True),
        sa.Column("per_pulse", QUANTITY, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_raw", sa.BigInteger(), nullable=True),
        sa.Column("last_raw_at", UTC_INSTANT, nullable=True),
        sa.Column("counter_total", QUANTITY, nullable=True),
        sa.Column("last_success_at", UTC_INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("unreachable_since", UTC_INSTANT, nullable=True),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_modbus_devices_register_id_registers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modbus_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_modbus_devices_name")),
    )
    with op.batch_alter_table("modbus_devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_modbus_devices_register_id"), ["register_id"], unique=False
        )

    op.create_table(
        "modbus_rejected_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("polled_at", UTC_INSTANT, nullable=False),
        sa.Column("field_name", sa.String(length=60), nullable=False),
        sa.Column("raw", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["modbus_devices.id"],
            name=op.f("fk_modbus_rejected_values_device_id_modbus_devices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modbus_rejected_values")),
        sa.UniqueConstraint(
            "device_id",
            "polled_at",
            "field_name",
            name=op.f("uq_modbus_rejected_values_device_id_polled_at_field_name"),
        ),
    )
    with op.batch_alter_table("modbus_rejected_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_modbus_rejected_values_device_id"), ["device_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("modbus_rejected_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_modbus_rejected_values_device_id"))
    op.drop_table("modbus_rejected_values")
    with op.batch_alter_table("modbus_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_modbus_devices_register_id"))
    op.drop_table("modbus_devices")
