"""the second state machine checked by the database: a message's status, a delivery attempt's
outcome and a complaint's delivery state hold only the values shared.delivery names

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lists as they stand at this revision (a later value needs a later migration).
CHECKS = (
    ("notifications", "status_known", "status", "pending sending sent delivered failed ambiguous cancelled"),
    ("delivery_attempts", "outcome_known", "outcome", "sending delivered unreachable ambiguous"),
    ("complaints", "delivery_state_known", "delivery_state", "sending unreachable ambiguous"),
)


def upgrade() -> None:
    for table, name, column, values in CHECKS:
        listed = ", ".join(f"'{v}'" for v in values.split())
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(name, f"{column} IN ({listed})")


def downgrade() -> None:
    for table, name, _column, _values in reversed(CHECKS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
