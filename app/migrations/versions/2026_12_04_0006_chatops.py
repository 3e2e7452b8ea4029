"""Staff Slack bot: pending approvals and the alerts channel.

Revision ID: 0006_chatops
Revises: 0005_crew_sms
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_chatops"
down_revision: str | None = "0005_crew_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same exact-decimal and UTC types as the foundation migration (see app.db).
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")
UTC_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("bill_run", "adjustment", name="approvalkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "canceled",
                name="approvalstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("request_key", sa.String(length=160), nullable=False),
        sa.Column("requested_by_staff_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("team_id", sa.String(length=20), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("decided_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTC_INSTANT, nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_slack_approvals_requested_by_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_slack_approvals_decided_by_staff_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_approvals")),
        sa.UniqueConstraint("request_key", name=op.f("uq_slack_approvals_request_key")),
    )
    with op.batch_alter_table("slack_approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_approvals_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slack_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_approvals_status"))
    op.drop_table("slack_approvals")
