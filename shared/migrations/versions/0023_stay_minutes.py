"""The SLA reports' histogram: stays per WIB month, step, bidang and whole office minutes
(`stay_minutes`), filled from the stays (shared.stays.backfill_minutes); from now on written with
each stay by the stays' writer

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared import stays

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stay_minutes",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(50), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "step", "unit", "minutes", name=op.f("pk_stay_minutes")),
    )
    stays.backfill_minutes(op.get_bind())


def downgrade() -> None:
    op.drop_table("stay_minutes")
