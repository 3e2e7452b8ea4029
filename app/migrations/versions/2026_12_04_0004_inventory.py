"""Inventory and job costing: parts, part use, labor and equipment entries, meter stock status.

Revision ID: 0004_inventory
Revises: 0003_work_orders
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_inventory"
down_revision: str | None = "0003_work_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")
QUANTITY = sa.Numeric(18, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)

STOCK_STATUS = sa.Enum(
    "in_stock", "installed", "removed", "retired",
    name="meterstockstatus", native_enum=False, length=20,
)


def _use_columns() -> list[sa.Column[object]]:
    """Columns every use table shares: its idempotency key, the order and who recorded it."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=160), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", UTC_INSTANT, nullable=False),
    ]


def upgrade() -> None:
    # Existing meters get their status from their installations, not one default: a
    # meter with an open installation is installed, one whose installations have all
    # ended is removed, and one never installed is in stock.
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stock_status", STOCK_STATUS, nullable=False, server_default="in_stock")
        )
    op.execute(
        "UPDATE meters SET stock_status = 'removed' WHERE EXISTS "
        "(SELECT 1 FROM meter_installations i WHERE i.meter_id = meters.id)"
    )
    op.execute(
        "UPDATE meters SET stock_status = 'installed' WHERE EXISTS "
        "(SELECT 1 FROM meter_installations i WHERE i.meter_id = meters.id "
        "AND i.removed_on IS NULL)"
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.alter_column("stock_status", server_default=None)

    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("quantity_on_hand", QUANTITY, nullable=False),
        sa.Column("reorder_point", QUANTITY, nullable=False),
        sa.Column("unit_cost", MONEY, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("code", name=op.f("uq_parts_code")),
    )
    op.create_table(
        "part_uses",
        *_use_columns(),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit_cost", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_part_uses_part_id_parts")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"],
            name=op.f("fk_part_uses_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_part_uses")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_part_uses_entry_key")),
    )
    op.create_table(
        "labor_entries",
        *_use_columns(),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("hours", QUANTITY, nullable=False),
        sa.Column("overtime_hours", QUANTITY, nullable=False),
        sa.Column("hourly_rate", MONEY, nullable=False),
        sa.Column("overtime_rate", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_labor_entries_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"],
            name=op.f("fk_labor_entries_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labor_entries")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_labor_entries_entry_key")),
    )
    op.create_table(
        "equipment_entries",
        *_use_columns(),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("description", sa.String(length=120), nullable=True),
        sa.Column("hours", QUANTITY, nullable=False),
        sa.Column("hourly_rate", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"], ["work_orders.id"],
            name=op.f("fk_equipment_entries_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_entries")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_equipment_entries_entry_key")),
    )
    for table, columns in (
        ("part_uses", ("work_order_id", "part_id")),
        ("labor_entries", ("work_order_id", "staff_id")),
        ("equipment_entries", ("work_order_id",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(
                    batch_op.f(f"ix_{table}_{column}"), [column], unique=False
                )


def downgrade() -> None:
    for table in ("equipment_entries", "labor_entries", "part_uses", "parts"):
        op.drop_table(table)
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_column("stock_status")
