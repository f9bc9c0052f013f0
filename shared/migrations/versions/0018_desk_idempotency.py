"""The front desk's filings: an idempotency key belongs to a kiosk or to the officer who filed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("kiosk_id", existing_type=_ID, nullable=True)
        batch.add_column(sa.Column("user_id", _ID, nullable=True))
        batch.create_foreign_key(op.f("fk_idempotency_keys_user_id_users"), "users", ["user_id"], ["id"])
        batch.create_unique_constraint(op.f("uq_idempotency_keys_user_key"), ["user_id", "key"])
        batch.create_check_constraint(
            op.f("ck_idempotency_keys_one_owner"), "(kiosk_id IS NULL) <> (user_id IS NULL)"
        )


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE kiosk_id IS NULL")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint(op.f("ck_idempotency_keys_one_owner"), type_="check")
        batch.drop_constraint(op.f("uq_idempotency_keys_user_key"), type_="unique")
        batch.drop_constraint(op.f("fk_idempotency_keys_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
        batch.alter_column("kiosk_id", existing_type=_ID, nullable=False)
