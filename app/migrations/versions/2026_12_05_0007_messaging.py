"""Customer texts: consent per program and the outbound message log.

Revision ID: 0007_messaging
Revises: 0006_chatops
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_messaging"
down_revision: str | None = "0006_chatops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same UTC type as the foundation migration (see app.db).
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sms_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column(
            "program",
            sa.Enum("billing", "alerts", name="program", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("changed_at", UTC_INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_consents")),
        sa.UniqueConstraint("phone", "program", name=op.f("uq_sms_consents_phone_program")),
    )
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column(
            "program",
            sa.Enum("billing", "alerts", name="program", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("send_after", UTC_INSTANT, nullable=False),
        sa.Column("message_sid", sa.String(length=40), nullable=True),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("updated_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_outbound_messages_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_messages_idempotency_key")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_outbound_messages_message_sid")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbound_messages_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_to_number"), ["to_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_to_number"))
        batch_op.drop_index(batch_op.f("ix_outbound_messages_status"))
        batch_op.drop_index(batch_op.f("ix_outbound_messages_account_id"))

    op.drop_table("outbound_messages")
    op.drop_table("sms_consents")
