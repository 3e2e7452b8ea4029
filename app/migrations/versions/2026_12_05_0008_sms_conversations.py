"""Text-to-pay conversations and bill links.

Revision ID: 0008_sms_conversations
Revises: 0007_messaging
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_sms_conversations"
down_revision: str | None = "0007_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sms_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "pay",
                "autopay",
                "autopay_off",
                name="conversationkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "completed",
                "failed",
                "canceled",
                "expired",
                name="conversationstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("saved_card_id", sa.Integer(), nullable=True),
        sa.Column("message_sid", sa.String(length=40), nullable=False),
        sa.Column("answer_sid", sa.String(length=40), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("failure", sa.String(length=200), nullable=True),
        sa.Column("expires_at", UTC_INSTANT, nullable=False),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("updated_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sms_conversations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["saved_card_id"],
            ["saved_cards.id"],
            name=op.f("fk_sms_conversations_saved_card_id_saved_cards"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_sms_conversations_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_conversations")),
        sa.UniqueConstraint("answer_sid", name=op.f("uq_sms_conversations_answer_sid")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_sms_conversations_message_sid")),
    )
    with op.batch_alter_table("sms_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sms_conversations_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sms_conversations_phone"), ["phone"], unique=False)
        # One pending question per phone number, so YES always answers the latest one.
        batch_op.create_index(
            "uq_sms_conversations_pending_phone",
            ["phone"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "bill_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.Column("expires_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_bill_links_bill_id_bills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_links")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_bill_links_token_digest")),
    )
    with op.batch_alter_table("bill_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bill_links_bill_id"), ["bill_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bill_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_links_bill_id"))
    op.drop_table("bill_links")

    with op.batch_alter_table("sms_conversations", schema=None) as batch_op:
        batch_op.drop_index("uq_sms_conversations_pending_phone")
        batch_op.drop_index(batch_op.f("ix_sms_conversations_phone"))
        batch_op.drop_index(batch_op.f("ix_sms_conversations_account_id"))
    op.drop_table("sms_conversations")
