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
    pass


def downgrade() -> None:
    pass
