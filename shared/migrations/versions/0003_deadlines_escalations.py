"""deadlines as rows, escalations, escalation level

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deadlines",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("complaint_id", BIGID, nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_deadlines_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint("complaint_id", "step", "entered_at", "kind", name="uq_deadlines_once"),
    )
    op.create_index(op.f("ix_deadlines_complaint_id"), "deadlines", ["complaint_id"])
    op.create_index(
        "ix_deadlines_due",
        "deadlines",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL"),
    )
    op.create_table(
        "escalations",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("complaint_id", BIGID, nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("target_role", sa.String(length=30), nullable=False),
        sa.Column("target_unit", sa.String(length=50), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notify_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_escalations_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index(op.f("ix_escalations_complaint_id"), "escalations", ["complaint_id"])
    op.create_index(op.f("ix_escalations_target_role"), "escalations", ["target_role"])
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("escalation_level")
    op.drop_table("escalations")
    op.drop_table("deadlines")
