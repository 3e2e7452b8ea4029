"""IVR calls, their steps and outcomes, and staff requests from calls.

Revision ID: 0009_calls
Revises: 0008_sms_conversations
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_calls"
down_revision: str | None = "0008_sms_conversations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=40), nullable=False),
        sa.Column("caller", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("identify_failures", sa.Integer(), nullable=False),
        sa.Column("entered_number", sa.String(length=20), nullable=True),
        sa.Column("pending_amount", MONEY, nullable=True),
        sa.Column("pending_payment_key", sa.String(length=160), nullable=True),
        sa.Column("pay_error", sa.String(length=60), nullable=True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "self_served",
                "transferred",
                "abandoned",
                name="calloutcome",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("started_at", UTC_INSTANT, nullable=False),
        sa.Column("ended_at", UTC_INSTANT, nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_calls_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_calls_call_sid")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_outcome"), ["outcome"], unique=False)

    op.create_table(
        "call_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "callback", "arrangement", name="callrequestkind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_call_requests_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_requests_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_requests")),
        sa.UniqueConstraint("call_id", "kind", name=op.f("uq_call_requests_call_id_kind")),
    )
    with op.batch_alter_table("call_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_requests_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_requests_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_requests_status"))
        batch_op.drop_index(batch_op.f("ix_call_requests_account_id"))
    op.drop_table("call_requests")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_outcome"))
        batch_op.drop_index(batch_op.f("ix_calls_account_id"))
    op.drop_table("calls")
