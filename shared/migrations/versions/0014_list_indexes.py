"""Indexes for the lists at a million complaints: by status, step, unit and outcome (newest first),
and by date received

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_complaints_status_id": ["status", "id"],
    "ix_complaints_step_id": ["step", "id"],
    "ix_complaints_unit_id": ["unit_code", "id"],
    "ix_complaints_outcome_id": ["outcome", "id"],
    "ix_complaints_received_at": ["received_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "complaints", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="complaints")
