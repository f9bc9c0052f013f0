"""Every completed stay at a step, once, for the SLA reports: the `stays` table, filled from the
history (shared.stays.backfill, the fold the reports read the history with until now)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared import stays
from shared.settings import Settings, get_settings

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stays",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("history_id", BIGID, nullable=False),
        sa.Column("complaint_id", BIGID, nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(50), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused", sa.JSON(), nullable=True),
        sa.Column("office_minutes", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["history_id"], ["history.id"], name=op.f("fk_stays_history_id_history")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_stays_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stays")),
        sa.UniqueConstraint("history_id", name=op.f("uq_stays_history_id")),
    )
    settings = op.get_context().config.attributes.get("settings") if op.get_context().config else None
    stays.backfill(op.get_bind(), settings if isinstance(settings, Settings) else get_settings())
    # The indexes once the rows are in (one sort each instead of a million inserts into them).
    op.create_index("ix_stays_complaint_id", "stays", ["complaint_id"])
    op.create_index("ix_stays_left_at", "stays", ["left_at", "step"])


def downgrade() -> None:
    op.drop_index("ix_stays_left_at", table_name="stays")
    op.drop_index("ix_stays_complaint_id", table_name="stays")
    op.drop_table("stays")
