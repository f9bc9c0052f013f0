"""Fewer index entries per filing: the unit and outcome indexes only hold complaints that have
one (a new complaint has neither), and the deadlines' own complaint_id index goes (the unique key
(complaint_id, step, entered_at, kind) serves every lookup by complaint)

Every query these indexes serve compares the column with a value (`unit_code = :unit`,
`outcome = :outcome`), which implies IS NOT NULL, so PostgreSQL and SQLite still pick them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (columns, the column a new complaint leaves NULL)
PARTIAL = {
    "ix_complaints_unit_queue": (["unit_code", "step", "step_due_at"], "unit_code"),
    "ix_complaints_unit_id": (["unit_code", "id"], "unit_code"),
    "ix_complaints_outcome_id": (["outcome", "id"], "outcome"),
}


def upgrade() -> None:
    for name, (columns, column) in PARTIAL.items():
        op.drop_index(name, table_name="complaints")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "complaints", columns, postgresql_where=where, sqlite_where=where)
    op.drop_index("ix_deadlines_complaint_id", table_name="deadlines")


def downgrade() -> None:
    op.create_index("ix_deadlines_complaint_id", "deadlines", ["complaint_id"])
    for name, (columns, _column) in PARTIAL.items():
        op.drop_index(name, table_name="complaints")
        op.create_index(name, "complaints", columns)
