"""kiosks: a one-time enrolment link and the enrolled browser's cookie secret (both as hashes)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        batch.add_column(sa.Column("enrol_token_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("enrol_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("browser_key_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_kiosks_enrol_token_hash"), ["enrol_token_hash"])
        batch.create_unique_constraint(op.f("uq_kiosks_browser_key_hash"), ["browser_key_hash"])


def downgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        batch.drop_constraint(op.f("uq_kiosks_browser_key_hash"), type_="unique")
        batch.drop_constraint(op.f("uq_kiosks_enrol_token_hash"), type_="unique")
        batch.drop_column("browser_key_hash")
        batch.drop_column("enrol_expires_at")
        batch.drop_column("enrol_token_hash")
