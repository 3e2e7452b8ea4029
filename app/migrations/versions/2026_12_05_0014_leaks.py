"""Leak and high-usage episodes.

Revision ID: 0014_leaks
Revises: 0013_estimation
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_leaks"
down_revision: str | None = "0013_estimation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
QUANTITY = sa.Numeric(18, 6).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "leak_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("premise_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("started_at", UTC_INSTANT, nullable=False),
        sa.Column("last_seen_at", UTC_INSTANT, nullable=False),
        sa.Column("closed_at", UTC_INSTANT, nullable=True),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("alerted_at", UTC_INSTANT, nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("updated_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_leak_episodes_register_id_registers")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_leak_episodes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["premise_id"], ["premises.id"], name=op.f("fk_leak_episodes_premise_id_premises")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_leak_episodes_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leak_episodes")),
        sa.UniqueConstraint(
            "register_id",
            "kind",
            "started_at",
            name=op.f("uq_leak_episodes_register_id_kind_started_at"),
        ),
    )
    with op.batch_alter_table("leak_episodes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leak_episodes_register_id"), ["register_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_leak_episodes_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_leak_episodes_closed_at", ["closed_at"], unique=False)

    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("sent_at", UTC_INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_email_messages_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_email_messages_idempotency_key")),
    )
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_messages_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_email_messages_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_messages_status"))
        batch_op.drop_index(batch_op.f("ix_email_messages_account_id"))
    op.drop_table("email_messages")
    with op.batch_alter_table("leak_episodes", schema=None) as batch_op:
        batch_op.drop_index("ix_leak_episodes_closed_at")
        batch_op.drop_index(batch_op.f("ix_leak_episodes_account_id"))
        batch_op.drop_index(batch_op.f("ix_leak_episodes_register_id"))
    op.drop_table("leak_episodes")
