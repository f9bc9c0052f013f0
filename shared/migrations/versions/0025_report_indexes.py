"""The reports' counts over a year of complaints from their indexes alone (PostgreSQL's index-only
scans): the date received carries what the volume report and the legal clocks group and judge by,
and the closed complaints by their closing date carry what the SKM report groups by

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECEIVED = ["category_code", "channel", "unit_code", "status", "outcome", "closed_at", "paused_at"]
CLOSED = ["id", "status", "outcome", "unit_code"]


def upgrade() -> None:
    op.drop_index("ix_complaints_received_at", table_name="complaints")
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"], postgresql_include=RECEIVED)
    op.create_index(
        "ix_complaints_closed_at",
        "complaints",
        ["closed_at"],
        postgresql_include=CLOSED,
        postgresql_where=sa.text("closed_at IS NOT NULL"),
        sqlite_where=sa.text("closed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_complaints_closed_at", table_name="complaints")
    op.drop_index("ix_complaints_received_at", table_name="complaints")
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"])
