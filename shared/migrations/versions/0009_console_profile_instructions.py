"""Officers' jabatan and NIP (on the lembar disposisi), and the admin-editable disposition instructions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The lembar disposisi's tick boxes (the SOP's five) until the admin edits the list.
SEED = (
    "Tanggapan dan saran",
    "Proses lebih lanjut",
    "Koordinasi / konfirmasikan",
    "Untuk diketahui",
    "Siapkan jawaban",
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("job_title", sa.String(200), nullable=True))
        batch.add_column(sa.Column("nip", sa.String(18), nullable=True))
    instructions = op.create_table(
        "disposition_instructions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_instructions")),
        sa.UniqueConstraint("label", name=op.f("uq_disposition_instructions_label")),
    )
    op.bulk_insert(instructions, [{"label": t, "position": i} for i, t in enumerate(SEED)])


def downgrade() -> None:
    op.drop_table("disposition_instructions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("nip")
        batch.drop_column("job_title")
