"""Partial indexes for the legal clocks of a year's complaints: the delivered answers and the
documents that came in, without a scan of the history or of every attempt

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_delivery_attempts_delivered": ("delivery_attempts", "outcome = 'delivered'"),
    "ix_history_info_received": ("history", "action = 'info_received'"),
}


def upgrade() -> None:
    for name, (table, where) in INDEXES.items():
        op.create_index(
            name,
            table,
            ["complaint_id", "at"],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, (table, _where) in INDEXES.items():
        op.drop_index(name, table_name=table)
