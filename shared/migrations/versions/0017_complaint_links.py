"""Links between complaints: related, or one the duplicate of another (the outcome `duplicate`)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# complaints.outcome has no CHECK of its values (a new outcome needs no change there).


def upgrade() -> None:
    op.create_table(
        "complaint_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("low_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("high_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("duplicate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_links")),
        sa.ForeignKeyConstraint(
            ["low_id"], ["complaints.id"], name=op.f("fk_complaint_links_low_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["high_id"], ["complaints.id"], name=op.f("fk_complaint_links_high_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_id"], ["complaints.id"], name=op.f("fk_complaint_links_duplicate_id_complaints")
        ),
        sa.UniqueConstraint("low_id", "high_id", name=op.f("uq_complaint_links_pair")),
        sa.UniqueConstraint("duplicate_id", name=op.f("uq_complaint_links_duplicate_id")),
        sa.CheckConstraint("low_id < high_id", name=op.f("ck_complaint_links_ordered_pair")),
        sa.CheckConstraint("kind IN ('related', 'duplicate')", name=op.f("ck_complaint_links_kind_known")),
        sa.CheckConstraint(
            "(kind = 'related' AND duplicate_id IS NULL) OR "
            "(kind = 'duplicate' AND duplicate_id IN (low_id, high_id))",
            name=op.f("ck_complaint_links_duplicate_side"),
        ),
    )
    op.create_index(op.f("ix_complaint_links_high_id"), "complaint_links", ["high_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_complaint_links_high_id"), table_name="complaint_links")
    op.drop_table("complaint_links")
