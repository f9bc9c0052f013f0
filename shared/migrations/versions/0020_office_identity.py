"""The office identity the admin edits (name, address, city, a logo for prints): one row

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No row until the admin saves: until then the settings are the office's identity.
    op.create_table(
        "office_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(20), nullable=True),
        sa.Column("logo_sha256", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_office_identity_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_identity")),
    )


def downgrade() -> None:
    op.drop_table("office_identity")
