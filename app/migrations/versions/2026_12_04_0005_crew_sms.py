"""Crew texts: the messages sent to and received from field crews.

Revision ID: 0005_crew_sms
Revises: 0004_inventory
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_crew_sms"
down_revision: str | None = "0004_inventory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crew_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=True),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("updated_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_crew_messages_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_crew_messages_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crew_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_crew_messages_idempotency_key")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_crew_messages_message_sid")),
    )
    op.create_index(
        op.f("ix_crew_messages_staff_id"), "crew_messages", ["staff_id"], unique=False
    )
    op.create_index(
        op.f("ix_crew_messages_work_order_id"), "crew_messages", ["work_order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_crew_messages_work_order_id"), table_name="crew_messages")
    op.drop_index(op.f("ix_crew_messages_staff_id"), table_name="crew_messages")
    op.drop_table("crew_messages")
