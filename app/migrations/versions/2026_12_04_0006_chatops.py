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
    # Tables are added here as the work lands.
    pass


def downgrade() -> None:
    pass
