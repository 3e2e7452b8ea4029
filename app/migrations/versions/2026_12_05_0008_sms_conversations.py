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
    pass


def downgrade() -> None:
    pass
