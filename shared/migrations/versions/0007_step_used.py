"""step_used_s and stay_started_at: a stay resumed after a pause keeps what it used and when it began

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("step_used_s", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("stay_started_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE complaints SET stay_started_at = step_entered_at")


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("stay_started_at")
        batch.drop_column("step_used_s")
