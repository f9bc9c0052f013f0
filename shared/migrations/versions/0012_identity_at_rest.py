"""complaints: phone, e-mail and address encrypted like the NIK; NIK and phone by blind index

The existing rows are sealed and indexed here (with the instance's ADUAN_DATA_KEY), then the plain
columns are dropped.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_complaints = sa.table(
    "complaints",
    sa.column("id", sa.BigInteger()),
    sa.column("nik_enc", sa.LargeBinary()),
    sa.column("nik_index", sa.String()),
    sa.column("phone", sa.String()),
    sa.column("email", sa.String()),
    sa.column("address", sa.String()),
    sa.column("phone_enc", sa.LargeBinary()),
    sa.column("phone_index", sa.String()),
    sa.column("email_enc", sa.LargeBinary()),
    sa.column("address_enc", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("nik_index", sa.String(64), nullable=True))
        batch.add_column(sa.Column("phone_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("phone_index", sa.String(64), nullable=True))
        batch.add_column(sa.Column("email_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("address_enc", sa.LargeBinary(), nullable=True))
    _seal_existing_rows()
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("address")
        batch.drop_column("email")
        batch.drop_column("phone")
        batch.create_index(op.f("ix_complaints_nik_index"), ["nik_index"])
        batch.create_index(op.f("ix_complaints_phone_index"), ["phone_index"])


def _seal_existing_rows() -> None:
    bind = op.get_bind()
    c = _complaints.c
    rows = bind.execute(sa.select(c.id, c.nik_enc, c.phone, c.email, c.address)).all()
    if not rows:
        return
    from shared.identity import blind_index, identity_columns, unseal

    for row in rows:
        values = identity_columns(nik=None, phone=row.phone, email=row.email, address=row.address)
        nik = unseal(row.nik_enc, field="nik")
        values = {k: v for k, v in values.items() if not k.startswith("nik_")}
        values["nik_index"] = blind_index(nik, field="nik") if nik else None
        bind.execute(sa.update(_complaints).where(c.id == row.id).values(values))


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_index(op.f("ix_complaints_phone_index"))
        batch.drop_index(op.f("ix_complaints_nik_index"))
        batch.add_column(sa.Column("phone", sa.String(20), nullable=True))
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("address", sa.String(500), nullable=True))
    bind = op.get_bind()
    c = _complaints.c
    rows = bind.execute(sa.select(c.id, c.phone_enc, c.email_enc, c.address_enc)).all()
    if rows:
        from shared.identity import unseal

        for row in rows:
            values = {
                "phone": unseal(row.phone_enc, field="phone"),
                "email": unseal(row.email_enc, field="email"),
                "address": unseal(row.address_enc, field="address"),
            }
            bind.execute(sa.update(_complaints).where(c.id == row.id).values(values))
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("address_enc")
        batch.drop_column("email_enc")
        batch.drop_column("phone_index")
        batch.drop_column("phone_enc")
        batch.drop_column("nik_index")
