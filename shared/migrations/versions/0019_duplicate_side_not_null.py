"""complaint_links: a duplicate link must name its duplicate (0017's CHECK let a NULL through,
since `NULL IN (…)` is not false)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_complaint_links_duplicate_side"
OLD = "(kind = 'related' AND duplicate_id IS NULL) OR (kind = 'duplicate' AND duplicate_id IN (low_id, high_id))"
NEW = (
    "(kind = 'related' AND duplicate_id IS NULL) OR "
    "(kind = 'duplicate' AND duplicate_id IS NOT NULL AND duplicate_id IN (low_id, high_id))"
)


def _replace(condition: str) -> None:
    with op.batch_alter_table("complaint_links") as batch:  # SQLite: the table is rebuilt
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), condition)


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    _replace(OLD)
